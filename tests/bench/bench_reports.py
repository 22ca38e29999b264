#!/usr/bin/env python
"""Benchmark: the monthly ranking and the weekly agenda over a city's history (reports/).

On a throwaway database (`bench_reports_<pid>`, created and migrated like a test database, dropped
at the end; the development database is not touched): the city of `manage.py seed_city`
(`fixtures.city.generate`) — 190 sub-districts, 131,480 members, 9,880 grids and, by default, 10
million incidents with their dispatch orders, hand-overs and call-backs at the demo's rates and mix,
generated in SQL (`BENCH_REPORTS_INCIDENTS` or `--incidents` for a smaller city; `--database NAME`
reuses a city generated before with `manage.py seed_city` into that database, and keeps it).

Timed through the real entry points, 20 runs each (p50 / p95 / the first run), for three
sub-districts and three periods each:
- `reports.ranking.ranking_board(subdistrict=, period=month_param("YYYY-MM"))` — the month just
  ended, the same month a year before and one in between;
- `reports.agenda.weekly_agenda(subdistrict=, period=week_param("YYYY-Www"))` — the week just ended
  and two earlier ones.
Beside each, the floor of the same run: the bare SQL aggregate of the same rows — one GROUP BY per
member over the month's orders of the sub-district's members (joined to their cases) for the
ranking; the DBSCAN clustering of the agenda's four weeks alone for the agenda. Each SQL statement
the entry point runs is then EXPLAINed: the indexes it uses are printed (what makes the target
possible). Target: under 2 s each. Not a test: the verdict line says whether the target was met.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from fixtures import city  # noqa: E402

TARGET_S = 2.0
SHANGHAI = city.SHANGHAI

RANKING_FLOOR_SQL = """
SELECT o.member_id, count(*), count(*) FILTER (WHERE o.arrived_at IS NOT NULL),
       count(*) FILTER (WHERE o.arrived_at <= o.arrive_by),
       count(*) FILTER (WHERE o.arrived_at IS NOT NULL AND i.resolved_at IS NOT NULL)
FROM dispatch_dispatchorder o
JOIN dispatch_member m ON m.id = o.member_id
JOIN incidents_incident i ON i.id = o.incident_id
WHERE m.subdistrict_id = %(sub)s AND o.dispatched_at >= %(start)s AND o.dispatched_at < %(end)s
GROUP BY o.member_id
"""

AGENDA_FLOOR_SQL = """
SELECT category_id, cluster, count(*)
FROM (SELECT i.category_id,
             ST_ClusterDBSCAN(ST_Transform(i.location, %(srid)s), eps := %(eps)s, minpoints := %(minpoints)s)
               OVER (PARTITION BY i.category_id) AS cluster
      FROM incidents_incident i
      WHERE i.subdistrict_id = %(sub)s AND i.reported_at >= %(since)s AND i.reported_at < %(end)s
        AND i.location IS NOT NULL) c
WHERE cluster IS NOT NULL
GROUP BY category_id, cluster
"""


def months_to_try(anchor: date, first_day: date) -> list[str]:
    """The month just ended, the same month a year before, one in between (those in the history)."""
    last = (anchor.replace(day=1) - timedelta(days=1)).replace(day=1)
    out = [last]
    for back in (12, 5):
        y, m = divmod(last.year * 12 + last.month - 1 - back, 12)
        d = date(y, m + 1, 1)
        if d >= first_day:
            out.append(d)
    return [f"{d.year:04d}-{d.month:02d}" for d in dict.fromkeys(out)]


def weeks_to_try(anchor: date, first_day: date) -> list[str]:
    """The week just ended, the one four weeks before, one a year before (those in the history)."""
    monday = anchor - timedelta(days=anchor.weekday() + 7)
    out = [monday]
    for back in (4, 52):
        d = monday - timedelta(weeks=back)
        if d - timedelta(weeks=3) >= first_day:
            out.append(d)
    keys = []
    for d in dict.fromkeys(out):
        iso = d.isocalendar()
        keys.append(f"{iso.year:04d}-W{iso.week:02d}")
    return keys


def timed(function, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        out.append(time.perf_counter() - started)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def sql_floor(sql: str, params: dict):
    def run():
        with connection.cursor() as cur:
            cur.execute(sql, params)
            cur.fetchall()
    return run


class Captured:
    """The SQL statements an entry point runs (Django's execute wrapper), with their time."""

    def __init__(self):
        self.statements: list[tuple[str, object, float]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((sql, params, time.perf_counter() - started))


def explain_indexes(statements) -> list[tuple[float, str, list[str], list[str]]]:
    """For each SELECT the entry point ran: (seconds, its first words, the indexes its plan uses,
    the big tables it reads whole)."""
    out = []
    for sql, params, seconds in statements:
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        with connection.cursor() as cur:
            cur.execute("EXPLAIN " + sql, params)
            plan = "\n".join(r[0] for r in cur.fetchall())
        indexes = sorted(set(re.findall(r"Index (?:Only )?Scan (?:Backward )?using (\S+)", plan))
                         | set(re.findall(r"Bitmap Index Scan on (\S+)", plan)))
        seq = sorted(set(re.findall(r"Seq Scan on (\S+)", plan)) & {"incidents_incident", "dispatch_dispatchorder",
                                                                     "incidents_handover", "incidents_callbacktask"})
        words = " ".join(sql.split())
        label = re.sub(r"^WITH \w+ AS (MATERIALIZED )?\(\s*", "", words)[:70]
        out.append((seconds, label, indexes, seq))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=int(os.environ.get("BENCH_REPORTS_INCIDENTS", 10_000_000)))
    parser.add_argument("--subdistricts", type=int, default=int(os.environ.get("BENCH_REPORTS_SUBDISTRICTS", 190)))
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None, help="connections generating at once")
    parser.add_argument("--database", default=None,
                        help="an existing city (manage.py seed_city into it): reused and kept")
    args = parser.parse_args()

    from geo.models import Subdistrict
    from incidents.models import Incident
    from reports import agenda as agenda_module
    from reports.agenda import weekly_agenda
    from reports.periods import month_param, week_param
    from reports.ranking import ranking_board

    began = time.perf_counter()
    with city.bench_city(args.database, "bench_reports", subdistricts=args.subdistricts, incidents=args.incidents,
                         seed=args.seed, workers=args.workers) as (name, stats):
        generated = "reused" if stats is None else (
            f"generated in {stats.total_s / 60:.1f} min ({stats.timings['history'] / 60:.1f} min the history, "
            f"{stats.timings['indexes and foreign keys re-created'] / 60:.1f} min its indexes)")
        first = Incident.objects.order_by("reported_at").values_list("reported_at", flat=True).first()
        last = Incident.objects.order_by("-reported_at").values_list("reported_at", flat=True).first()
        anchor = last.astimezone(SHANGHAI).date() + timedelta(days=1)
        first_day = first.astimezone(SHANGHAI).date()
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM dispatch_dispatchorder")
            orders = cur.fetchone()[0]
            cur.execute("SELECT reltuples::int8 FROM pg_class WHERE relname = 'incidents_incident'")
            incidents = cur.fetchone()[0]
        subs = list(Subdistrict.objects.order_by("code"))
        picked = [subs[0], subs[len(subs) // 2], subs[-1]] if len(subs) >= 3 else subs
        months, weeks = months_to_try(anchor, first_day), weeks_to_try(anchor, first_day)
        print(f"GridLink reports benchmark: {incidents:,} incidents, {orders:,} orders in {len(subs)} sub-districts "
              f"from {first_day} to {anchor}; {name} {generated}; set up in {(time.perf_counter() - began) / 60:.1f} "
              f"min; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        print(f"sub-districts {', '.join(s.code for s in picked)}; months {', '.join(months)}; weeks {', '.join(weeks)}; "
              f"{args.runs} runs each")

        rows: dict[str, dict[str, list[float]]] = {"ranking": {"call": [], "floor": [], "first": []},
                                                   "agenda": {"call": [], "floor": [], "first": []}}
        captured = {"ranking": Captured(), "agenda": Captured()}
        srid = getattr(agenda_module, "HOT_SRID", 4549)
        eps = getattr(agenda_module, "HOT_EPS_M", 150)
        minpoints = getattr(agenda_module, "HOT_MIN_POINTS", 3)
        window = getattr(agenda_module, "HOT_WINDOW_WEEKS", 4)
        for sub in picked:
            for key in months:
                period = month_param(key)
                with connection.execute_wrapper(captured["ranking"]):
                    first_run = timed(lambda: ranking_board(subdistrict=sub, period=period), 1)  # noqa: B023
                rows["ranking"]["first"] += first_run
                rows["ranking"]["call"] += timed(lambda: ranking_board(subdistrict=sub, period=period),  # noqa: B023
                                                 args.runs)
                rows["ranking"]["floor"] += timed(sql_floor(RANKING_FLOOR_SQL, {
                    "sub": sub.pk, "start": period.start, "end": period.end}), args.runs)
            for key in weeks:
                period = week_param(key)
                with connection.execute_wrapper(captured["agenda"]):
                    first_run = timed(lambda: weekly_agenda(subdistrict=sub, period=period), 1)  # noqa: B023
                rows["agenda"]["first"] += first_run
                rows["agenda"]["call"] += timed(lambda: weekly_agenda(subdistrict=sub, period=period),  # noqa: B023
                                                args.runs)
                rows["agenda"]["floor"] += timed(sql_floor(AGENDA_FLOOR_SQL, {
                    "sub": sub.pk, "since": period.end - timedelta(weeks=window), "end": period.end, "srid": srid,
                    "eps": eps, "minpoints": minpoints}), args.runs)

        n = len(picked)
        print(f"| {incidents / 1e6:.0f} M incidents, {orders / 1e6:.0f} M orders | runs | p50 ms | p95 ms | max ms | "
              f"first run, max ms |")
        print("|---|---:|---:|---:|---:|---:|")
        labels = {
            "ranking": (f"**`ranking_board`** (a month, {n} sub-districts × {len(months)} months)",
                        "floor: one GROUP BY per member over the month's orders of the sub-district"),
            "agenda": (f"**`weekly_agenda`** (a week, {n} sub-districts × {len(weeks)} weeks)",
                       f"floor: ST_ClusterDBSCAN over the {window} weeks' cases alone"),
        }
        for report in ("ranking", "agenda"):
            call, floor, first_runs = rows[report]["call"], rows[report]["floor"], rows[report]["first"]
            print(f"| {labels[report][0]} | {len(call)} | {1000 * statistics.median(call):.0f} | "
                  f"{1000 * p95(call):.0f} | {1000 * max(call):.0f} | {1000 * max(first_runs):.0f} |")
            print(f"| {labels[report][1]} | {len(floor)} | {1000 * statistics.median(floor):.1f} | "
                  f"{1000 * p95(floor):.1f} | {1000 * max(floor):.1f} | |")
        for report in ("ranking", "agenda"):
            print(f"{report}: the statements of one call (the first sub-district and period), their time and the "
                  "indexes their plans use:")
            statements = captured[report].statements
            per_call = len(statements) // (n * (len(months) if report == "ranking" else len(weeks)))
            for seconds, label, indexes, seq in explain_indexes(statements[:per_call]):
                whole = f"; reads whole: {', '.join(seq)}" if seq else ""
                print(f"  {1000 * seconds:7.1f} ms  {label} … — {', '.join(indexes) or 'no index'}{whole}")
        for report, name_ in (("ranking", "ranking_board"), ("agenda", "weekly_agenda")):
            worst = p95(rows[report]["call"])
            floor = statistics.median(rows[report]["floor"])
            print(f"target {name_} under {TARGET_S:.0f} s: p95 {worst:.2f} s ({worst / floor:.1f}× the floor's p50), "
                  f"first run at most {max(rows[report]['first']):.2f} s — "
                  f"{'met' if worst < TARGET_S and max(rows[report]['first']) < TARGET_S else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
