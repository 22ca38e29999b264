#!/usr/bin/env python
"""A city-scale history, generated in SQL: the world of the city-scale benchmarks.

`generate(connection, subdistricts=190, incidents=10_000_000, seed=14)` writes into an empty,
migrated database (the benchmarks create a throwaway one):

- a district of `subdistricts` sub-districts tiled as rectangles near Hangzhou, each with 13
  villages/communities of 4 grids (52 grids, as the demo; 9,880 grids for 190), one published grid
  version;
- each sub-district's linkage organisation at the plan's strength (`dispatch.models.FORCE_STRENGTH`,
  692 members, 131,480 for 190; the units of `fixtures.organisation`: leading group, command room,
  offices, police station with its community police, grid squad, 13 community units with their 4
  grid leaders each, squads, seconded stations, property companies, sites, enterprises, parks), and
  about 540 addresses ("spots") per sub-district by kind — complexes, roads, arterials, junctions,
  sites, enterprises, parks, schools, markets — a few of them coming back again and again;
- `incidents` closed (mostly) cases with their dispatch orders, hand-overs and call-backs, at the
  demo generator's rates and mix (`fixtures.history`): about 40 cases a day per sub-district (so
  10 million over 190 sub-districts span about 3.6 years; `years=` fixes the span instead and
  scales the rate), more on weekends and in summer, falling a little year over year, wage disputes
  before the Spring Festival, fires in winter; each category at its hours, at its kind of place;
  channels by category; joint-consultation assignment forms every Monday afternoon.

Orders follow the demo's `_responders` and `_order`: who is sent for what (community police by day,
patrols at night, the grid's leader before 21:30 — and, for a share of the disputes after it, with no
deadline —, its grid worker, the squads and stations, the place's contact, the leaders on major
cases), with the plan's deadlines (`dispatch.deadlines`), and each member's persistent profile (grid
leaders and grid workers clearly better or worse, some improving over the years, some slipping):
most arrive, some late (then `overdue_escalated_at`), some decline with a reason, some are stood
down with a reason; someone always gets there. Cases are settled on site or transferred to an
office (more often under a weak lead), completed after days; cases whose office work spans the
end of the history stay open (in progress, the hand-over accepted); every other case is closed
before the history ends (the demo's compression of the last day). Hotline callers are called back
(satisfaction improving over the years).

Not generated: the timeline (incidents_incidentevent), reports, parties, alarms, duty rosters, roads,
places and addresses (the reports do not read them). The case numbers continue per day as intake
numbers them (incidents_incidentcounter is set).

How: the geography and the organisation are a few thousand rows (SQL and COPY); the history is
INSERT … SELECT, one month at a time, in `workers` connections at once. Every random draw is a hash
of the row's key and the seed (`hashint8extended`), so the data do not depend on the order rows
are produced in or on the number of workers: the same seed and anchor give the same rows. During
the load the history tables keep only their primary keys and check constraints; their other
indexes, unique constraints and foreign keys are dropped and re-created afterwards (re-adding a
foreign key validates every row: the constraints hold), then everything is ANALYZEd.

Command line (a throwaway database, dropped at the end unless --keep):
    .venv/bin/python tests/bench/city_history.py --incidents 200000 [--subdistricts 190]
        [--years Y] [--seed 14] [--anchor YYYY-MM-DD] [--workers 2] [--database NAME --keep]
"""

# ruff: noqa: S608 - the SQL is built from this module's constants and the project's model tables

from __future__ import annotations

import argparse
import math
import os
import random
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
PER_DAY = 40.0  # cases a day per sub-district (mission.md "Demo realism": about 40 a day, 14,000 a year)
GRIDS_PER_COMMUNITY = 4
COMMUNITIES = 13  # 52 grids per sub-district, as the demo
# The district's lattice: grid cells of GW × GH degrees (about 340 × 830 m), a sub-district is 13
# columns (its communities, one column each) × 4 rows of them.
X0, Y0, GW, GH = 119.60, 29.95, 0.0035, 0.0075
HISTORY_TABLES = ("incidents_incident", "dispatch_dispatchorder", "incidents_handover", "incidents_callbacktask")
GRID_VERSION_EFFECTIVE = datetime(2019, 1, 1, tzinfo=SHANGHAI)

# Spots (addresses) per sub-district, by kind; the kinds' numbers are the SQL's (1-based).
SPOT_KINDS = ["site", "enterprise", "park", "road", "complex", "local", "market", "school", "junction", "arterial"]
SPOTS = {"site": 50, "enterprise": 8, "park": 33, "road": 150, "complex": 120, "local": 60, "market": 12,
         "school": 8, "junction": 40, "arterial": 60}
NAME_FIRST = "东西南北中新老上下前"
NAME_SECOND = "湖港桥塘溪山湾浦庄林洲坝园岭堰埠墩渡坞汇"

Progress = Callable[[str], None]


def _print(message: str) -> None:
    print(message, flush=True)


@dataclass
class CityStats:
    """What was generated, and how long each step took (seconds)."""

    subdistricts: int
    first_day: date
    anchor: date
    days: int
    incidents: int = 0
    orders: int = 0
    handovers: int = 0
    callbacks: int = 0
    members: int = 0
    grids: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def total_s(self) -> float:
        return sum(self.timings.values())


# --- connections -----------------------------------------------------------------------------

def _raw(settings_dict: dict):
    """A new autocommit psycopg connection to the database of `settings_dict` (a Django alias's)."""
    import psycopg

    params = {"dbname": settings_dict["NAME"], "user": settings_dict.get("USER") or None,
              "password": settings_dict.get("PASSWORD") or None, "host": settings_dict.get("HOST") or None,
              "port": settings_dict.get("PORT") or None}
    conn = psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True)
    with conn.cursor() as cur:
        # Room for the month's scratch tables and the index builds (this session only).
        cur.execute("SET temp_buffers = '512MB'")
        cur.execute("SET work_mem = '256MB'")
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET max_parallel_workers_per_gather = 0")
        cur.execute("SET jit = off")
    return conn


def _copy(cur, table: str, columns: list[str], rows) -> int:
    """COPY rows (tuples of text-ready values; None for NULL) into `table`."""
    n = 0
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def _defaults(model, given: set[str]) -> tuple[list[str], list]:
    """Columns of `model` the generator does not set, with the field's default (a field added later
    with a default needs no change here): column names and values for SQL parameters."""
    columns, values = [], []
    from django.db import connection

    for f in model._meta.concrete_fields:
        if f.primary_key or f.column in given:
            continue
        columns.append(f.column)
        values.append(f.get_db_prep_save(f.get_default(), connection))
    return columns, values


# --- the random draws: a hash of (key, salt), the seed folded into the function ------------------

def U(key: str, salt: int) -> str:  # noqa: N802 - reads as the math
    """SQL: a uniform draw in (0, 1) for the row `key` (an int8 expression) and the draw `salt`."""
    return f"citygen.u(({key}), {salt})"


def G(key: str, salt: int) -> str:  # noqa: N802
    """SQL: a standard normal draw (Box–Muller on two uniforms)."""
    return f"(sqrt(-2.0 * ln({U(key, salt)})) * cos(6.283185307179586 * {U(key, salt + 5000)}))"


def UNI(key: str, salt: int, lo: float | str, hi: float | str) -> str:  # noqa: N802
    return f"(({lo}) + (({hi}) - ({lo})) * {U(key, salt)})"


def TRI(key: str, salt: int, lo: str, hi: str, mode: str) -> str:  # noqa: N802
    """SQL: a triangular draw (inverse CDF), as random.triangular(lo, hi, mode)."""
    u = U(key, salt)
    return (f"(CASE WHEN {u} < (({mode}) - ({lo})) / (({hi}) - ({lo})) "
            f"THEN ({lo}) + sqrt({u} * (({hi}) - ({lo})) * (({mode}) - ({lo}))) "
            f"ELSE ({hi}) - sqrt((1 - {u}) * (({hi}) - ({lo})) * (({hi}) - ({mode}))) END)")


def _lower_bounds(weights) -> list[float]:
    """The lower bounds of the buckets of a discrete distribution (for width_bucket: 1-based)."""
    total = float(sum(weights))
    out, acc = [], 0.0
    for w in weights:
        out.append(acc / total)
        acc += w
    return out


def _arr(values, cast: str = "float8") -> str:
    if cast == "text":
        return "ARRAY[" + ",".join("'" + str(v).replace("'", "''") + "'" for v in values) + "]::text[]"
    return "ARRAY[" + ",".join(repr(float(v)) if cast == "float8" else str(int(v)) for v in values) + f"]::{cast}[]"


# --- the plan ------------------------------------------------------------------------------------

def span(*, subdistricts: int, incidents: int, years: float | None) -> int:
    """Days of history: at the demo's rate unless `years` is given."""
    if years is not None:
        return max(1, round(years * 365.25))
    return max(1, round(incidents / (subdistricts * PER_DAY)))


def generate(connection=None, *, subdistricts: int = 190, incidents: int = 10_000_000, years: float | None = None,
             seed: int = 14, anchor: date | None = None, workers: int | None = None,
             progress: Progress = _print) -> CityStats:
    """Write the city (see the module's docstring) into the database of `connection` (a Django
    connection; default `django.db.connection`), which must be migrated and hold no sub-district.
    The history ends at the start of `anchor` (default: today in Asia/Shanghai). Returns counts and
    timings."""
    from django.db import connection as default_connection

    connection = connection or default_connection
    anchor = anchor or datetime.now(SHANGHAI).date()
    days = span(subdistricts=subdistricts, incidents=incidents, years=years)
    first_day = anchor - timedelta(days=days)
    workers = max(1, workers or min(4, os.cpu_count() or 1))
    stats = CityStats(subdistricts=subdistricts, first_day=first_day, anchor=anchor, days=days)
    progress(f"city: {subdistricts} sub-districts, {incidents:,} incidents from {first_day} to {anchor} "
             f"({days} days, {incidents / subdistricts / days:.1f} a day per sub-district), seed {seed}, "
             f"{workers} worker(s)")

    def step(name: str, function, *args):
        started = time.perf_counter()
        out = function(*args)
        stats.timings[name] = time.perf_counter() - started
        progress(f"city: {name} in {stats.timings[name]:.1f} s")
        return out

    from fixtures.load import ensure_reference_data

    step("reference data", ensure_reference_data)
    main = _raw(connection.settings_dict)
    try:
        with main.cursor() as cur:
            cur.execute("SELECT count(*) FROM geo_subdistrict")
            if cur.fetchone()[0]:
                raise RuntimeError("the database already holds sub-districts: the city needs an empty one")
            step("helpers", _helpers_schema, cur, seed)
            stats.grids = step("geography", _geography, cur, subdistricts)
            stats.members = step("organisation", _organisation, cur, subdistricts, seed)
            step("tables of the draws", _draw_tables, cur, subdistricts, incidents, days, first_day, anchor, seed)
            saved = step("indexes dropped", _strip, cur)
        months = _months(main, first_day, anchor)
        counts = step("history", _history, connection.settings_dict, months, workers, progress, incidents)
        stats.incidents, stats.orders, stats.handovers, stats.callbacks = counts
        step("indexes and foreign keys re-created", _restore, connection.settings_dict, saved, workers, progress)
        with main.cursor() as cur:
            step("finish (sequences, counters, ANALYZE)", _finish, cur)
    finally:
        with main.cursor() as cur:
            cur.execute("DROP SCHEMA IF EXISTS citygen CASCADE")
        main.close()
    progress(f"city: {stats.incidents:,} incidents, {stats.orders:,} orders, {stats.handovers:,} hand-overs, "
             f"{stats.callbacks:,} call-backs, {stats.members:,} members, {stats.grids:,} grids "
             f"in {stats.total_s / 60:.1f} min")
    return stats


# --- helpers, geography, organisation ------------------------------------------------------------

def _helpers_schema(cur, seed: int) -> None:
    cur.execute("DROP SCHEMA IF EXISTS citygen CASCADE")
    cur.execute("CREATE SCHEMA citygen")
    # Inlined by the planner (an immutable SQL expression using each parameter once).
    cur.execute(f"""CREATE FUNCTION citygen.u(k int8, s int4) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT ((hashint8extended($1, $2::int8 * 1000003 + {int(seed)}) & 9007199254740991)::float8 + 0.5)
                     / 9007199254740992.0 $$""")


def _sub_name(s: int) -> str:
    name = NAME_FIRST[s % len(NAME_FIRST)] + NAME_SECOND[(s // len(NAME_FIRST)) % len(NAME_SECOND)]
    return name + ("" if s < len(NAME_FIRST) * len(NAME_SECOND) else str(s)) + "街道"


def _layout(subdistricts: int) -> tuple[int, list[float], list[float]]:
    cols = max(1, round(math.sqrt(subdistricts * 2)))
    rows = math.ceil(subdistricts / cols)
    xs = [X0 + i * GW for i in range(cols * COMMUNITIES + 1)]
    ys = [Y0 + j * GH for j in range(rows * GRIDS_PER_COMMUNITY + 1)]
    return cols, xs, ys


def _community_name(s: int, c: int) -> str:
    """Unique within the sub-district: the first six are villages, the others communities."""
    return (NAME_SECOND[(s + c) % len(NAME_SECOND)] + NAME_FIRST[(s * 7 + c) % len(NAME_FIRST)]
            + NAME_SECOND[(c * 3 + s // 7) % len(NAME_SECOND)] + ("村" if c < 6 else "社区"))


def _sub_code(s: int) -> str:
    return f"330110{s + 101:03d}"


def _geography(cur, subdistricts: int) -> int:
    """Sub-districts, communities (a column of 4 grids each), one published version, the grids."""
    cols, xs, ys = _layout(subdistricts)
    subs, comms, grids = [], [], []
    for s in range(subdistricts):
        col, row = s % cols, s // cols
        gx0, gy0 = col * COMMUNITIES, row * GRIDS_PER_COMMUNITY
        code = _sub_code(s)
        subs.append((code, _sub_name(s), xs[gx0], ys[gy0], xs[gx0 + COMMUNITIES], ys[gy0 + GRIDS_PER_COMMUNITY]))
        for c in range(COMMUNITIES):
            comms.append((code, f"{code}-{c + 1:02d}", _community_name(s, c),
                          "village" if c < 6 else "community", xs[gx0 + c], ys[gy0], xs[gx0 + c + 1],
                          ys[gy0 + GRIDS_PER_COMMUNITY]))
            for k in range(GRIDS_PER_COMMUNITY):
                grids.append((code, f"{code}-{c + 1:02d}", f"{code}-{c + 1:02d}-{k + 1:02d}", f"第{k + 1}网格",
                              xs[gx0 + c], ys[gy0 + k], xs[gx0 + c + 1], ys[gy0 + k + 1]))

    def cols_of(rows):
        return [list(x) for x in zip(*rows, strict=True)]

    a = cols_of(subs)
    cur.execute("""INSERT INTO geo_subdistrict (code, name, district, city, boundary)
        SELECT c, n, '余杭区', '杭州市', ST_Multi(ST_MakeEnvelope(x0, y0, x1, y1, 4326))
        FROM unnest(%s::text[], %s::text[], %s::float8[], %s::float8[], %s::float8[], %s::float8[])
             AS t(c, n, x0, y0, x1, y1) ORDER BY c""", a)
    a = cols_of(comms)
    cur.execute("""INSERT INTO geo_community (subdistrict_id, code, name, kind, boundary)
        SELECT s.id, t.c, t.n, t.k, ST_Multi(ST_MakeEnvelope(x0, y0, x1, y1, 4326))
        FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::float8[], %s::float8[],
                    %s::float8[]) AS t(s, c, n, k, x0, y0, x1, y1)
        JOIN geo_subdistrict s ON s.code = t.s ORDER BY s.id, t.c""", a)
    cur.execute("""INSERT INTO geo_boundaryversion (subdistrict_id, number, label, status, effective_from, published_at,
                                                   created_at, note, revision)
        SELECT id, 1, '2019年网格划分', 'published', %s, %s, %s, '城市规模基准数据：13个村（社区）、52个网格', 0
        FROM geo_subdistrict ORDER BY id""", [GRID_VERSION_EFFECTIVE] * 3)
    a = cols_of(grids)
    # The grids' community names: "<community> 第k网格".
    cur.execute("""INSERT INTO geo_grid (version_id, subdistrict_id, community_id, code, name, boundary)
        SELECT v.id, s.id, c.id, t.g, c.name || t.n, ST_Multi(ST_MakeEnvelope(x0, y0, x1, y1, 4326))
        FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::float8[], %s::float8[],
                    %s::float8[]) AS t(s, c, g, n, x0, y0, x1, y1)
        JOIN geo_subdistrict s ON s.code = t.s
        JOIN geo_boundaryversion v ON v.subdistrict_id = s.id
        JOIN geo_community c ON c.subdistrict_id = s.id AND c.code = t.c
        ORDER BY s.id, t.g""", a)
    return len(grids)


def _organisation(cur, subdistricts: int, seed: int) -> int:
    """Units, members and their grids per sub-district, as fixtures.organisation builds the demo's:
    COPY from Python (131,480 members for 190 sub-districts). Then the helper tables of the draws
    that name members: the grids' staff, the sub-districts' pools, the members' profiles, the spots."""
    from dispatch.models import FORCE_STRENGTH, Member, Unit
    from fixtures import texts
    from fixtures.organisation import FORCE_PREFIX, SQUADS, STATIONS

    strength = {str(k): v for k, v in FORCE_STRENGTH.items()}
    cols, xs, ys = _layout(subdistricts)
    cur.execute("SELECT code, id FROM geo_subdistrict")
    sub_id = dict(cur.fetchall())
    cur.execute("SELECT s.code || '|' || c.code, c.id FROM geo_community c JOIN geo_subdistrict s ON s.id = c.subdistrict_id")
    community_id = dict(cur.fetchall())
    cur.execute("SELECT s.code || '|' || g.code, g.id FROM geo_grid g JOIN geo_subdistrict s ON s.id = g.subdistrict_id")
    grid_id = dict(cur.fetchall())

    rng = random.Random(f"{seed}:city:organisation")
    offices_left = strength["office_staff"] - len(texts.LEADER_TITLES)
    per_office = [offices_left // len(texts.OFFICES)] * len(texts.OFFICES)
    for k in range(offices_left - sum(per_office)):
        per_office[k] += 1
    initials = {"党政办": "DZB", "平安办": "PAB", "社事科": "SSK", "城建科": "CJK", "经发科": "JFK", "信访办": "XFB",
                "应急办": "YJB"}
    units: list[tuple] = []
    members: list[tuple] = []  # (sub code, unit code, member code, name, force, roles, phone, travel, home, post)
    links: list[tuple[str, str, str]] = []  # (sub code, member code, grid code)
    spots: list[tuple] = []  # (sub code, kind, idx, grid code, x, y, address, contact member code)

    def pt(x: float, y: float) -> str:
        return f"SRID=4326;POINT({x:.7f} {y:.7f})"

    for s in range(subdistricts):
        code = _sub_code(s)
        sname = _sub_name(s)
        short = sname[:2]
        col, row = s % cols, s // cols
        gx0, gy0 = col * COMMUNITIES, row * GRIDS_PER_COMMUNITY
        bx0, by0, bx1, by1 = xs[gx0], ys[gy0], xs[gx0 + COMMUNITIES], ys[gy0 + GRIDS_PER_COMMUNITY]

        def anywhere() -> tuple[float, float]:
            return rng.uniform(bx0 + 0.0005, bx1 - 0.0005), rng.uniform(by0 + 0.0005, by1 - 0.0005)  # noqa: B023

        def in_grid(c: int, k: int) -> tuple[float, float]:
            return (rng.uniform(xs[gx0 + c] + 0.0003, xs[gx0 + c + 1] - 0.0003),  # noqa: B023
                    rng.uniform(ys[gy0 + k] + 0.0003, ys[gy0 + k + 1] - 0.0003))  # noqa: B023

        def gcode(c: int, k: int) -> str:
            return f"{code}-{c + 1:02d}-{k + 1:02d}"  # noqa: B023

        counters = dict.fromkeys(FORCE_PREFIX, 0)
        phones: set[str] = set()
        names: set[str] = set()
        base: dict[str, tuple[float, float]] = {}

        def unit(ucode: str, uname: str, kind: str, community: str | None = None,
                 where: tuple[float, float] | None = None) -> str:
            base[ucode] = where or anywhere()  # noqa: B023
            units.append((code, ucode, uname, kind, community, f"0571-8{rng.randrange(10**6):06d}",  # noqa: B023
                          pt(*base[ucode])))  # noqa: B023
            return ucode

        def member(force: str, ucode: str, *, roles=(), grids=(), travel="car", home=None, post=None) -> str:
            counters[force] += 1  # noqa: B023
            mcode = f"{FORCE_PREFIX[force]}{counters[force]:04d}"  # noqa: B023
            while True:
                name = texts.person_name(rng)
                if name not in names:  # noqa: B023
                    names.add(name)  # noqa: B023
                    break
            while True:
                phone = texts.mobile(rng)
                if phone not in phones:  # noqa: B023
                    phones.add(phone)  # noqa: B023
                    break
            members.append((code, ucode, mcode, name, force, "{" + ",".join(roles) + "}", phone, travel,  # noqa: B023
                            pt(*(home or anywhere())), None if post is None else pt(*post)))  # noqa: B023
            for c, k in grids:
                links.append((code, mcode, gcode(c, k)))  # noqa: B023
            return mcode

        office = anywhere()
        lead = unit("U-LDXZ", f"{sname}“网事警情”联动工作领导小组", "leadership", where=office)
        for i in range(len(texts.LEADER_TITLES)):
            roles = ["principal_leader"] if i < 2 else ["responsible_leader"]
            if i == 0:
                roles.append("unit_leader")
            member("office_staff", lead, roles=roles, post=office)
        cmd = unit("U-ZHS", f"{sname}综合信息指挥室（大联动中队）", "command_room", where=office)
        for i in range(strength["command_room"]):
            member("command_room", cmd, roles=(["unit_leader"] if i == 0 else []) + (["shift_leader"] if i < 6 else []),
                   post=office)
        for (oname, oshort), count in zip(texts.OFFICES, per_office, strict=True):
            u = unit(f"U-KS-{initials[oshort]}", f"{sname}{oname}", "subdistrict_office", where=office)
            for i in range(count):
                member("office_staff", u, roles=["unit_leader"] if i == 0 else [],
                       travel="ebike" if rng.random() < 0.6 else "foot", post=office)
        ps_base = anywhere()
        ps = unit("U-PCS", f"{short}派出所", "police_station", where=ps_base)
        for i in range(strength["police"]):
            if i < 5:
                member("police", ps, roles=["unit_leader"] if i == 0 else [], post=ps_base)
            elif i < 5 + COMMUNITIES:
                c = i - 5
                member("police", ps, grids=[(c, k) for k in range(GRIDS_PER_COMMUNITY)], post=ps_base,
                       home=in_grid(c, 0))
            else:
                member("police", ps, post=ps_base)
        for _ in range(strength["police_call_centre"]):
            member("police_call_centre", ps, post=ps_base)
        gs = unit("U-WGZD", f"{sname}网格中队", "grid_squad", where=office)
        cells = [(c, k) for c in range(COMMUNITIES) for k in range(GRIDS_PER_COMMUNITY)]
        doubled = set(rng.sample(cells, strength["grid_worker"] - len(cells)))
        worker_cells = [cell for cell in cells for _ in range(2 if cell in doubled else 1)]
        for i, (c, k) in enumerate(worker_cells):
            member("grid_worker", gs, roles=["unit_leader"] if i == 0 else [], grids=[(c, k)], travel="ebike",
                   home=in_grid(c, k))
        for c in range(COMMUNITIES):
            u = unit(f"U-C{c + 1:02d}", _community_name(s, c), "community", community=f"{code}-{c + 1:02d}",
                     where=in_grid(c, 0))
            for k in range(GRIDS_PER_COMMUNITY):
                roles = ["grid_leader"] + (["unit_leader"] if k == 0 else []) + (["security_director"] if k == 1 else [])
                member("grid_leader", u, roles=roles, grids=[(c, k)], travel="ebike", home=in_grid(c, k))
        for ucode, uname, kind, force, _civic, travel in SQUADS:
            where = anywhere()
            u = unit(ucode, uname.replace("良渚湾", short), kind, where=where)
            for i in range(strength[force]):
                member(force, u, roles=["unit_leader"] if i == 0 else [], travel=travel, post=where)
        for ucode, uname, kind, count, _civic in STATIONS:
            where = anywhere()
            u = unit(ucode, uname.replace("良渚湾", short), kind, where=where)
            for i in range(count):
                member("station_staff", u, roles=["unit_leader"] if i == 0 else [],
                       travel="car" if kind in ("fire_squad", "traffic_police", "road_administration") else "ebike",
                       post=where)
        # Spots: addresses by kind; the places among them have their contact (complexes: a property
        # company's manager, one per site, enterprise and park building).
        roads = [f"{rng.choice(texts.LOCAL_FIRST)}{rng.choice(texts.LOCAL_SECOND)}{rng.choice(texts.LOCAL_SUFFIX)}"
                 for _ in range(12)]
        arterials = [f"{short}{x}" for x in ("大道", "东路", "西路", "北路")]
        complexes = [f"{short}{n}" for n in texts.COMPLEX_NAMES[:20]]
        kind_spots: dict[str, list[tuple[tuple[float, float], str, int, int]]] = {}
        # A complex is a few buildings within about 100 m of its gate (its contact's post).
        gates = [(rng.uniform(bx0 + 0.0015, bx1 - 0.0015), rng.uniform(by0 + 0.0015, by1 - 0.0015))
                 for _ in range(strength["property_contact"])]

        def cell(x: float, y: float) -> tuple[int, int]:
            return (min(COMMUNITIES - 1, max(0, int((x - bx0) / GW))),  # noqa: B023
                    min(GRIDS_PER_COMMUNITY - 1, max(0, int((y - by0) / GH))))  # noqa: B023

        for kind in SPOT_KINDS:
            out = []
            for i in range(SPOTS[kind]):
                if kind == "complex":
                    gx, gy = gates[i // (SPOTS["complex"] // len(gates))]
                    xy = (gx + rng.uniform(-0.001, 0.001), gy + rng.uniform(-0.0009, 0.0009))
                    c, k = cell(*xy)
                else:
                    c, k = rng.randrange(COMMUNITIES), rng.randrange(GRIDS_PER_COMMUNITY)
                    xy = in_grid(c, k)
                text = {
                    "site": f"{short}{i + 1:02d}号地块项目工地",
                    "enterprise": f"杭州{short}{['精密机械', '食品', '物流', '纺织', '电子科技', '建材', '新材料', '汽车零部件'][i % 8]}有限公司",
                    "park": f"{short}科创园{i // 9 + 1}区{i % 9 + 1}号楼",
                    "road": f"{roads[i % len(roads)]}{i * 7 % 400 + 1}号",
                    "complex": f"{complexes[i // 6 % len(complexes)]}{i % 6 + 1}幢{i % 4 + 1}单元",
                    "local": f"{roads[(i * 5) % len(roads)]}{i * 3 % 200 + 2}号",
                    "market": f"{short}{['仓兴', '禾丰', '塘湾', '综合'][i % 4]}农贸市场",
                    "school": f"{short}第{i + 1}小学",
                    "junction": f"{arterials[i % 4]}与{roads[i % len(roads)]}交叉口",
                    "arterial": f"{arterials[i % 4]}{i * 11 % 900 + 1}号",
                }[kind]
                out.append((xy, text, c, k))
            kind_spots[kind] = out
        contacts: dict[tuple[str, int], str] = {}
        for ci in range(strength["property_contact"] // 2):
            u = unit(f"U-WY{ci + 1:02d}", texts.PROPERTY_COMPANIES[ci % len(texts.PROPERTY_COMPANIES)]
                     .replace("良渚湾", short), "property_company")
            for j in range(2):
                n = ci * 2 + j  # the company's complex n: its buildings, its manager at the gate
                mcode = member("property_contact", u, roles=["unit_leader"] if j == 0 else [], travel="foot",
                               post=gates[n])
                for i in range(n * 6, n * 6 + 6):
                    contacts[("complex", i)] = mcode
        for kind, force, prefix in (("site", "site_contact", "U-GD"), ("enterprise", "enterprise_contact", "U-QY")):
            for i in range(strength[force]):
                where = kind_spots[kind][i][0]
                u = unit(f"{prefix}{i + 1:02d}", kind_spots[kind][i][1] + ("项目部" if kind == "site" else ""),
                         "construction_site" if kind == "site" else "enterprise", where=where)
                contacts[(kind, i)] = member(force, u, roles=["unit_leader"], travel="ebike", post=where)
        for i in range(strength["park_contact"]):
            if i % 9 == 0:
                u = unit(f"U-YQ{i // 9 + 1}", f"{short}科创园{i // 9 + 1}区运营管理中心", "park",
                         where=kind_spots["park"][i][0])
            contacts[("park", i)] = member("park_contact", u, roles=["unit_leader"] if i % 9 == 0 else [],
                                           travel="foot", post=kind_spots["park"][i][0])
        for force, n in strength.items():
            assert counters[force] == n, (force, counters[force], n)
        for kind in SPOT_KINDS:
            for i, ((x, y), text, c, k) in enumerate(kind_spots[kind]):
                spots.append((code, SPOT_KINDS.index(kind) + 1, i, gcode(c, k), x, y, text, contacts.get((kind, i))))

    given_unit = {"subdistrict_id", "code", "name", "kind", "community_id", "phone", "base"}
    extra_cols, extra_vals = _defaults(Unit, given_unit)
    _copy(cur, "dispatch_unit", ["subdistrict_id", "code", "name", "kind", "community_id", "phone", "base", *extra_cols],
          ((sub_id[sc], uc, un, k, community_id[f"{sc}|{cm}"] if cm else None, ph, base, *extra_vals)
           for sc, uc, un, k, cm, ph, base in units))
    cur.execute("SELECT s.code || '|' || u.code, u.id FROM dispatch_unit u JOIN geo_subdistrict s ON s.id = u.subdistrict_id")
    unit_id = dict(cur.fetchall())
    given_member = {"subdistrict_id", "unit_id", "code", "name", "force", "roles", "phone", "travel_mode", "home",
                    "duty_post", "active"}
    extra_cols, extra_vals = _defaults(Member, given_member)
    _copy(cur, "dispatch_member", ["subdistrict_id", "unit_id", "code", "name", "force", "roles", "phone", "travel_mode",
                                   "home", "duty_post", "active", *extra_cols],
          ((sub_id[sc], unit_id[f"{sc}|{uc}"], mc, name, force, roles, phone, travel, home, post, True, *extra_vals)
           for sc, uc, mc, name, force, roles, phone, travel, home, post in members))
    cur.execute("SELECT s.code || '|' || m.code, m.id FROM dispatch_member m JOIN geo_subdistrict s ON s.id = m.subdistrict_id")
    member_id = dict(cur.fetchall())
    _copy(cur, "dispatch_member_grids", ["member_id", "grid_id"],
          ((member_id[f"{sc}|{mc}"], grid_id[f"{sc}|{gc}"]) for sc, mc, gc in links))
    cur.execute("ANALYZE dispatch_unit; ANALYZE dispatch_member; ANALYZE dispatch_member_grids; ANALYZE geo_grid; "
                "ANALYZE geo_community; ANALYZE geo_subdistrict")
    cur.execute("""CREATE UNLOGGED TABLE citygen.h_spot (sub_id int8, kind int, idx int, grid_id int8, community_id int8,
                   x float8, y float8, address text, contact int8, PRIMARY KEY (sub_id, kind, idx))""")
    cur.execute("SELECT id, community_id FROM geo_grid")
    grid_community = dict(cur.fetchall())
    _copy(cur, "citygen.h_spot", ["sub_id", "kind", "idx", "grid_id", "community_id", "x", "y", "address", "contact"],
          ((sub_id[sc], kind, i, grid_id[f"{sc}|{gc}"], grid_community[grid_id[f"{sc}|{gc}"]], x, y, text,
            member_id[f"{sc}|{contact}"] if contact else None)
           for sc, kind, i, gc, x, y, text, contact in spots))
    return len(members)


def _draw_tables(cur, subdistricts: int, incidents: int, days: int, first_day: date, anchor: date, seed: int) -> None:
    """The small tables the history's draws read: days (volume and category mix of each), counts
    per day and sub-district (exactly `incidents` in all), categories, the grids' staff, the
    sub-districts' pools of members, the units, the members' profiles."""
    from fixtures import stories
    from fixtures.catalogue import CATEGORIES
    from fixtures.history import (
        _GENERAL,
        CHANNEL_MIX,
        DAILY_BASE,
        HOURS,
        MIX,
        OFF_SITE_DAYS,
        OFF_SITE_UNIT,
        ON_SITE_MINUTES,
        TRANSFER_RATE,
        WHERE,
        _spring_festival_factor,
    )

    codes = [c.code for c in CATEGORIES]
    cur.execute("SELECT code, id FROM incidents_category")
    category_id = dict(cur.fetchall())
    cur.execute("SELECT code, id FROM incidents_channel")
    channel_id = dict(cur.fetchall())
    assert list(MIX) == [c for c in codes if c in MIX] or set(MIX) == set(codes)

    # Days: the demo's volume factors and category weights of each day.
    rows = []
    for i in range(days):
        d = first_day + timedelta(days=i)
        weekend = d.weekday() >= 5
        labour_f, volume_f = _spring_festival_factor(d)
        summer = d.month in (6, 7, 8)
        years_back = (days - i) / 365.0
        f = DAILY_BASE * (1.18 if weekend else 1.0) * (1.08 if summer else 1.0) * volume_f * (1 + 0.035 * years_back)
        w = dict(MIX)
        w["labour_dispute"] *= labour_f * (0.7 if weekend else 1.0)
        w["work_safety"] *= 0.5 if weekend else 1.0
        w["neighbour_dispute"] *= 1.25 if weekend else 1.0
        w["fight"] *= 1.3 if weekend else 1.0
        w["fire"] *= {12: 1.7, 1: 1.7, 2: 1.6, 11: 1.3, 3: 1.2, 6: 0.7, 7: 0.7, 8: 0.7}.get(d.month, 1.0)
        rows.append((i, d, d.year * 100 + d.month, weekend, summer, d.weekday() == 0 and volume_f == 1.0,
                     (i + 0.5) / days, f, _lower_bounds([w[c] for c in codes])))
    cur.execute("""CREATE UNLOGGED TABLE citygen.h_day (day_idx int PRIMARY KEY, day date, month int, weekend bool,
                   summer bool, meeting bool, progress float8, f float8, cat_lb float8[])""")
    cur.executemany("INSERT INTO citygen.h_day VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)

    # Counts per day and sub-district: each sub-district has its size (0.6–1.4 of the mean), each day
    # its factor, with Poisson-like noise; scaled and rounded (largest remainders) to exactly
    # `incidents` with the assignment forms of the Monday meetings (3–8 per sub-district).
    per_day = incidents / (subdistricts * days)
    joint_scale = min(1.0, per_day / PER_DAY)
    cur.execute(f"""CREATE UNLOGGED TABLE citygen.h_count AS
        WITH cells AS (
          SELECT d.day_idx, s.sub_idx, d.f * (0.6 + 0.8 * {U("s.sub_idx", 1)}) AS lam,
                 CASE WHEN d.meeting THEN floor((3 + 6 * {U("d.day_idx::int8 * 65536 + s.sub_idx", 2)}) * {joint_scale}
                                                + {U("d.day_idx::int8 * 65536 + s.sub_idx", 3)})::int ELSE 0 END AS n_joint,
                 {G("d.day_idx::int8 * 65536 + s.sub_idx", 4)} AS g
          FROM citygen.h_day d CROSS JOIN generate_series(0, {subdistricts - 1}) s(sub_idx)
        ), scaled AS (
          SELECT *, lam * ({incidents} - sum(n_joint) OVER ()) / sum(lam) OVER () AS mean FROM cells
        ), noisy AS (
          SELECT *, greatest(0, mean + sqrt(mean) * g) AS x FROM scaled
        ), target AS (
          SELECT *, x * ({incidents} - sum(n_joint) OVER ()) / nullif(sum(x) OVER (), 0) AS t FROM noisy
        ), floored AS (
          SELECT *, floor(t)::int AS n0, t - floor(t) AS frac FROM target
        ), ranked AS (
          SELECT *, row_number() OVER (ORDER BY frac DESC, day_idx, sub_idx) AS r,
                 {incidents} - sum(n_joint) OVER () - sum(n0) OVER () AS missing
          FROM floored
        )
        SELECT day_idx, sub_idx, n0 + (r <= missing)::int AS n_reg, n_joint FROM ranked""")
    cur.execute("ALTER TABLE citygen.h_count ADD PRIMARY KEY (day_idx, sub_idx)")
    cur.execute("SELECT sum(n_reg + n_joint), min(n_reg) FROM citygen.h_count")
    total, smallest = cur.fetchone()
    if total != incidents or smallest < 0:
        raise RuntimeError(f"the counts add up to {total}, not {incidents}")

    # Categories: hours, places, channels, transfer and handling times, texts.
    kinds = SPOT_KINDS
    crng = random.Random(f"{seed}:city:texts")
    cat_rows = []
    for n, c in enumerate(CATEGORIES, start=1):
        hours = list(HOURS.get(c.code, _GENERAL))
        summer_hours = [h * (1.5 if 19 <= i else 1.0) for i, h in enumerate(hours)]
        where = WHERE[c.code]
        wd = [where.get(k, 0.0) for k in kinds]
        we = [w * (0.35 if k == "site" else 1.0) for k, w in zip(kinds, wd, strict=True)]
        mix = CHANNEL_MIX["police" if c.is_police else c.code if c.code in CHANNEL_MIX else "other"]
        lo, hi, mode = ON_SITE_MINUTES.get(c.code, (15, 180, 45))
        dlo, dhi, dmode = OFF_SITE_DAYS.get(c.code, (1, 10, 3))
        major_p = 1.0 if c.major_by_default or c.code == "mass_incident" else \
            0.05 if c.code in ("fire", "work_safety") else 0.01 if c.code == "traffic_accident" else 0.0
        descriptions = [stories.describe(crng, c.code, "{addr}") for _ in range(12)]
        results = [stories.result(crng, c.code) for _ in range(6)]
        cat_rows.append((n, category_id[c.code], c.code, c.name, c.is_police, major_p, _lower_bounds(hours),
                         _lower_bounds(summer_hours), _lower_bounds(wd), _lower_bounds(we),
                         _lower_bounds(list(mix.values())), [channel_id[k] for k in mix],
                         [1 if channel_id[k] == channel_id.get("district_order") else 0 for k in mix],
                         TRANSFER_RATE.get(c.code, 0.04), lo, hi, mode, dlo, dhi, dmode, OFF_SITE_UNIT[c.code],
                         descriptions, results))
    cur.execute("""CREATE UNLOGGED TABLE citygen.h_cat (cat_idx int PRIMARY KEY, category_id int8, code text, name text,
                   is_police bool, major_p float8, hours float8[], hours_s float8[], where_wd float8[], where_we float8[],
                   ch_lb float8[], ch_ids int8[], ch_district int[], transfer float8, lo float8, hi float8, mode float8,
                   dlo float8, dhi float8, dmode float8, off_unit text, descriptions text[], results text[])""")
    cur.execute("ALTER TABLE citygen.h_cat " + ", ".join(
        f"ALTER COLUMN {c} SET STORAGE PLAIN" for c in ("hours", "hours_s", "where_wd", "where_we", "ch_lb", "ch_ids",
                                                         "ch_district", "descriptions", "results")))
    cur.executemany("INSERT INTO citygen.h_cat VALUES (" + ", ".join(["%s"] * 23) + ")", cat_rows)
    joint_mix = {"labour_dispute": 3, "property_dispute": 3, "neighbour_dispute": 2, "other_dispute": 2,
                 "department_assist": 2, "mass_incident": 0.3}
    cur.execute("CREATE UNLOGGED TABLE citygen.h_const AS SELECT %s::float8[] AS joint_lb, %s::int8 AS joint_channel",
                [_lower_bounds([joint_mix.get(c, 0.0) for c in codes]), channel_id["joint_assignment"]])

    # Sub-districts: their index, and the pools of members the orders pick from.
    cur.execute("""CREATE UNLOGGED TABLE citygen.h_sub AS
        SELECT (row_number() OVER (ORDER BY s.id) - 1)::int AS sub_idx, s.id AS sub_id, s.code, s.name,
          array(SELECT m.id FROM dispatch_member m JOIN dispatch_unit u ON u.id = m.unit_id
                WHERE m.subdistrict_id = s.id AND m.force = 'police' AND u.code = 'U-PCS'
                  AND NOT EXISTS (SELECT 1 FROM dispatch_member_grids mg WHERE mg.member_id = m.id)
                  AND NOT 'unit_leader' = ANY(m.roles) ORDER BY m.id) AS patrol,
          array(SELECT m.id FROM dispatch_member m WHERE m.subdistrict_id = s.id AND 'principal_leader' = ANY(m.roles)
                ORDER BY m.id) AS principal,
          array(SELECT m.id FROM dispatch_member m WHERE m.subdistrict_id = s.id AND 'responsible_leader' = ANY(m.roles)
                ORDER BY m.id) AS responsible
        FROM geo_subdistrict s""")
    cur.execute("ALTER TABLE citygen.h_sub ADD PRIMARY KEY (sub_idx)")
    cur.execute("""CREATE UNLOGGED TABLE citygen.h_pool AS
        SELECT u.subdistrict_id AS sub_id, u.code, array_agg(m.id ORDER BY m.id) AS members
        FROM dispatch_unit u JOIN dispatch_member m ON m.unit_id = u.id
        WHERE u.code IN ('U-XF', 'U-JJ', 'U-JTZ', 'U-AQ', 'U-LB', 'U-CG', 'U-SJS', 'U-HBS', 'U-FG', 'U-YS', 'U-LZ')
        GROUP BY 1, 2""")
    cur.execute("""ALTER TABLE citygen.h_sub ADD COLUMN xf int8[], ADD COLUMN jj int8[], ADD COLUMN jtz int8[],
                   ADD COLUMN aq int8[], ADD COLUMN lb int8[], ADD COLUMN assist int8[][]""")
    for col, code in (("xf", "U-XF"), ("jj", "U-JJ"), ("jtz", "U-JTZ"), ("aq", "U-AQ"), ("lb", "U-LB")):
        cur.execute(f"UPDATE citygen.h_sub h SET {col} = p.members FROM citygen.h_pool p "  # noqa: S608
                    "WHERE p.sub_id = h.sub_id AND p.code = %s", [code])
    # The assisting units (fixtures.history.ASSIST_UNITS), each as a row of 30 (members repeated).
    cur.execute("""UPDATE citygen.h_sub h SET assist = (
        SELECT array_agg(array(SELECT p.members[1 + (i % cardinality(p.members))] FROM generate_series(0, 29) i)
                         ORDER BY array_position(ARRAY['U-CG','U-SJS','U-HBS','U-FG','U-YS','U-LZ','U-XF'], p.code))
        FROM citygen.h_pool p WHERE p.sub_id = h.sub_id
          AND p.code IN ('U-CG','U-SJS','U-HBS','U-FG','U-YS','U-LZ','U-XF'))""")
    # Stored plain (not compressed): every case reads these arrays several times.
    cur.execute("ALTER TABLE citygen.h_sub RENAME TO h_sub0")
    cur.execute("CREATE UNLOGGED TABLE citygen.h_sub (LIKE citygen.h_sub0 INCLUDING ALL)")
    cur.execute("ALTER TABLE citygen.h_sub " + ", ".join(
        f"ALTER COLUMN {c} SET STORAGE PLAIN" for c in ("patrol", "principal", "responsible", "xf", "jj", "jtz", "aq", "lb",
                                                         "assist")))
    cur.execute("INSERT INTO citygen.h_sub SELECT * FROM citygen.h_sub0")
    cur.execute("ALTER TABLE citygen.h_sub ADD COLUMN n_patrol int")
    cur.execute("UPDATE citygen.h_sub SET n_patrol = cardinality(patrol)")
    cur.execute("VACUUM FULL citygen.h_sub")
    cur.execute("SELECT count(*) FROM citygen.h_sub WHERE n_patrol < 4")
    assert cur.fetchone()[0] == 0, "a police station without patrols"
    cur.execute("""CREATE UNLOGGED TABLE citygen.h_unit AS
        SELECT u.subdistrict_id AS sub_id, u.code, u.id AS unit_id, u.name, u.kind FROM dispatch_unit u""")
    cur.execute("ALTER TABLE citygen.h_unit ADD PRIMARY KEY (sub_id, code)")

    # Members' profiles (fixtures.history._profiles), from the seed: a grid's quality, which its
    # workers and in part its leader follow; a leader's own; one leader in five improves, one in ten slips.
    cur.execute(f"""CREATE UNLOGGED TABLE citygen.h_quality AS
        SELECT g.id AS grid_id, greatest(-2.0, least(2.0, {G("g.id", 10)})) AS q FROM geo_grid g""")
    cur.execute("ALTER TABLE citygen.h_quality ADD PRIMARY KEY (grid_id)")
    cur.execute(f"""CREATE UNLOGGED TABLE citygen.h_member AS
        WITH m AS (
          SELECT m.id, m.subdistrict_id AS sub_id, m.force, m.roles, m.travel_mode, m.name, u.name AS unit_name,
                 ST_X(coalesce(m.duty_post, m.home)) AS x, ST_Y(coalesce(m.duty_post, m.home)) AS y,
                 (SELECT q.q FROM dispatch_member_grids mg JOIN citygen.h_quality q ON q.grid_id = mg.grid_id
                  WHERE mg.member_id = m.id ORDER BY mg.grid_id LIMIT 1) AS q,
                 {U("m.id", 11)} AS d, {U("m.id", 12)} AS r, {G("m.id", 13)} AS g, {U("m.id", 14)} AS v
          FROM dispatch_member m JOIN dispatch_unit u ON u.id = m.unit_id
        ), p AS (
          SELECT m.*,
            CASE WHEN force = 'grid_leader' THEN 1 / (1 + exp(-1.4 * (0.55 * q + 0.85 * g)))
                 WHEN force = 'grid_worker' THEN 1 / (1 + exp(-1.3 * (0.8 * q + 0.5 * g))) END AS qual
          FROM m
        )
        SELECT id AS member_id, sub_id, force, name, unit_name, x, y, travel_mode AS mode,
          CASE WHEN force = 'police' THEN 'w30' WHEN force = 'grid_worker' THEN 'w30'
               WHEN 'principal_leader' = ANY(roles) OR 'responsible_leader' = ANY(roles) THEN 'lead'
               WHEN force IN ('grid_leader', 'property_contact', 'site_contact', 'enterprise_contact', 'park_contact')
                 THEN 'b30' ELSE 'once' END AS binding,
          CASE WHEN force = 'police' THEN 1 WHEN force IN ('grid_leader', 'grid_worker') THEN 2
               WHEN force LIKE '%%\\_contact' THEN 3 ELSE 4 END AS decline_group,
          CASE WHEN force IN ('grid_leader', 'grid_worker') THEN 350.0
               WHEN force = 'police' THEN 1200.0 WHEN force LIKE '%%\\_contact' THEN 30.0 ELSE 400.0 END AS roam,
          CASE WHEN force = 'grid_leader' THEN 0.82 + 0.16 * (0.75 * qual + 0.25 * d)
               WHEN force = 'grid_worker' THEN 0.92 + 0.07 * qual
               WHEN force = 'police' THEN 0.95 + 0.04 * d
               WHEN force LIKE '%%\\_contact' THEN 0.85 + 0.12 * d
               WHEN 'principal_leader' = ANY(roles) OR 'responsible_leader' = ANY(roles) THEN 0.97 + 0.02 * d
               ELSE 0.94 + 0.05 * d END AS show,
          CASE WHEN force = 'grid_leader' THEN 0.60 + 0.34 * qual + (v - 0.5) * 0.04
               WHEN force = 'grid_worker' THEN 0.74 + 0.22 * qual
               WHEN force = 'police' THEN 0.82 + 0.14 * d
               WHEN force LIKE '%%\\_contact' THEN 0.68 + 0.24 * d
               WHEN 'principal_leader' = ANY(roles) OR 'responsible_leader' = ANY(roles) THEN 0.85 + 0.1 * d
               ELSE 0.82 + 0.14 * d END AS punctual,
          CASE WHEN force <> 'grid_leader' THEN 0.0 WHEN r < 0.2 THEN 0.14 + 0.12 * v
               WHEN r < 0.3 THEN -(0.06 + 0.06 * v) ELSE 0.0 END AS trend,
          CASE WHEN force = 'grid_leader' THEN 0.25 + 0.25 * v WHEN force = 'grid_worker' THEN 0.4
               WHEN force = 'police' OR force LIKE '%%\\_contact' THEN 0.6
               WHEN 'principal_leader' = ANY(roles) OR 'responsible_leader' = ANY(roles) THEN 0.3
               ELSE 0.5 END AS decline_share,
          CASE WHEN force = 'grid_leader' THEN 1.5 - qual WHEN force = 'grid_worker' THEN 1.3 - 0.6 * qual
               ELSE 1.0 END AS settle
        FROM p""")
    cur.execute("ALTER TABLE citygen.h_member ADD PRIMARY KEY (member_id)")
    # Grids: their leader, workers, community police, the community's security director.
    cur.execute("""CREATE UNLOGGED TABLE citygen.h_grid AS
        WITH staff AS (
          SELECT mg.grid_id, m.id, m.force FROM dispatch_member_grids mg JOIN dispatch_member m ON m.id = mg.member_id
        ), directors AS (
          SELECT g.community_id, min(m.id) AS director
          FROM geo_grid g JOIN dispatch_member_grids mg ON mg.grid_id = g.id JOIN dispatch_member m ON m.id = mg.member_id
          WHERE 'security_director' = ANY(m.roles) GROUP BY g.community_id
        )
        SELECT g.id AS grid_id, min(s.id) FILTER (WHERE s.force = 'grid_leader') AS leader,
          array_agg(s.id ORDER BY s.id) FILTER (WHERE s.force = 'grid_worker') AS workers,
          min(s.id) FILTER (WHERE s.force = 'police') AS police, d.director
        FROM geo_grid g JOIN staff s ON s.grid_id = g.id LEFT JOIN directors d ON d.community_id = g.community_id
        GROUP BY g.id, d.director""")
    cur.execute("ALTER TABLE citygen.h_grid ADD PRIMARY KEY (grid_id)")
    cur.execute("SELECT count(*) FROM citygen.h_grid WHERE leader IS NULL OR police IS NULL OR director IS NULL "
                "OR workers IS NULL")
    assert cur.fetchone()[0] == 0, "a grid without its staff"
    cur.execute("ANALYZE citygen.h_day; ANALYZE citygen.h_count; ANALYZE citygen.h_spot; ANALYZE citygen.h_member; "
                "ANALYZE citygen.h_grid; ANALYZE citygen.h_sub; ANALYZE citygen.h_cat; ANALYZE citygen.h_unit")
    cur.execute("CREATE UNLOGGED TABLE citygen.h_end AS SELECT %s::timestamp AS local_end, %s::timestamptz AS t_end",
                [datetime.combine(anchor, datetime.min.time()),
                 datetime.combine(anchor, datetime.min.time(), tzinfo=SHANGHAI)])


# --- indexes: off during the load, back after -------------------------------------------------------

@dataclass
class _Saved:
    constraints: list[tuple[str, str, str, str]]  # table, name, type (u, f), definition
    indexes: list[tuple[str, str, str]]  # table, name, definition


def _strip(cur) -> _Saved:
    """Drop the history tables' unique constraints, foreign keys and secondary indexes (kept: the
    primary keys and the check constraints)."""
    saved = _Saved([], [])
    for table in HISTORY_TABLES:
        cur.execute("""SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint
                       WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY contype DESC, conname""",
                    [table])
        for name, kind, definition in cur.fetchall():
            saved.constraints.append((table, name, kind, definition))
        cur.execute("""SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
                       WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
                         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                       ORDER BY 1""", [table])
        for name, definition in cur.fetchall():
            saved.indexes.append((table, name, definition))
    for table, name, _kind, _definition in saved.constraints:
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for _table, name, _definition in saved.indexes:
        cur.execute(f"DROP INDEX {name}")
    return saved


def _restore(settings_dict: dict, saved: _Saved, workers: int, progress: Progress) -> None:
    """Indexes and unique constraints in `workers` connections at once (biggest table first), then
    the foreign keys (each validates every row)."""
    jobs = [f"ALTER TABLE {t} ADD CONSTRAINT \"{n}\" {d}" for t, n, k, d in saved.constraints if k == "u"]
    jobs += [d for _t, _n, d in saved.indexes]
    size = {"dispatch_dispatchorder": 0, "incidents_incident": 1, "incidents_callbacktask": 2, "incidents_handover": 3}

    def table_of(sql: str) -> str:
        found = re.search(r"(?:ON|ALTER TABLE) (?:public\.)?(\w+)", sql)
        return found.group(1) if found else ""

    jobs.sort(key=lambda sql: size.get(table_of(sql), 9))
    _run_parallel(settings_dict, jobs, workers, progress, "index")
    # Adding a foreign key locks both tables against the others' (ShareRowExclusiveLock): one at a time.
    fks = [f"ALTER TABLE {t} ADD CONSTRAINT \"{n}\" {d}" for t, n, k, d in saved.constraints if k == "f"]
    _run_parallel(settings_dict, fks, 1, progress, "foreign key")


def _run_parallel(settings_dict: dict, jobs: list[str], workers: int, progress: Progress, what: str) -> None:
    queue = list(jobs)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work():
        conn = _raw(settings_dict)
        try:
            with conn.cursor() as cur:
                while True:
                    with lock:
                        if not queue or errors:
                            return
                        sql = queue.pop(0)
                    started = time.perf_counter()
                    cur.execute(sql)
                    progress(f"city:   {what}: {sql[:110]} … {time.perf_counter() - started:.1f} s")
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=work) for _ in range(min(workers, len(jobs)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


# --- the history, one month per statement set ------------------------------------------------------

def _months(conn, first_day: date, anchor: date) -> list[tuple[int, int, int, int]]:
    """(month yyyymm, first day index, day index after the last, first incident id) per month."""
    with conn.cursor() as cur:
        cur.execute("""SELECT d.month, min(d.day_idx), max(d.day_idx) + 1, sum(c.n_reg + c.n_joint)
                       FROM citygen.h_day d JOIN citygen.h_count c ON c.day_idx = d.day_idx
                       GROUP BY d.month ORDER BY d.month""")
        rows = cur.fetchall()
    out, first_id = [], 1
    for month, d0, d1, n in rows:
        out.append((month, d0, d1, first_id))
        first_id += int(n)
    return out


ASSIST_UNITS_SQL = "ARRAY['U-CG','U-SJS','U-HBS','U-FG','U-YS','U-LZ','U-XF']"


def _texts() -> dict[str, str]:
    """SQL array literals of the texts the draws pick from (fixtures.texts, fixtures.history)."""
    from fixtures import texts
    from fixtures.history import DECLINE_REASONS, OVERDUE_STOOD_DOWN_NOTES, STOOD_DOWN_REASON

    surnames = [s for s, w in texts.SURNAMES for _ in range(max(1, w // 5))]  # weighted by repetition

    def five(reasons: list[str]) -> list[str]:
        return (reasons * 5)[:5]

    return {
        "surnames": _arr(surnames, "text"),
        "given": _arr(list(texts.GIVEN_CHARS), "text"),
        "mobile": _arr(texts.MOBILE_PREFIXES, "text"),
        # Rows: police, grid staff, place contacts, units (h_member.decline_group).
        "decline": "ARRAY[" + ",".join(_arr(five(DECLINE_REASONS[k]), "text")[:-len("::text[]")]
                                       for k in ("police", "grid", "contact", "unit")) + "]::text[]",
        "late_stood_down": _arr(OVERDUE_STOOD_DOWN_NOTES, "text"),
        "stood_down": "'" + STOOD_DOWN_REASON.replace("'", "''") + "'",
    }


def _extra(model, given: list[str], prefix: str) -> tuple[str, str, dict]:
    """The columns of `model` the statement below does not set: ", col…", ", %(x)s…", params."""
    columns, values = _defaults(model, set(given))
    names = [f"{prefix}{i}" for i in range(len(columns))]
    return ("".join(f", {c}" for c in columns), "".join(f", %({n})s" for n in names),
            dict(zip(names, values, strict=True)))


def _chunk_sql() -> tuple[list[str], dict]:
    """The statements of one month (run in one transaction): parameters d0, d1 (day indexes) and
    first_id (the month's first incident id), plus the defaults of the columns not set."""
    from dispatch.models import DispatchOrder
    from fixtures.history import HANDOVER_ACCEPT_MINUTES, HANDOVER_ACCEPT_MINUTES_DEFAULT, SETUP_S, SPEED_MS
    from incidents.models import CallbackTask, Handover, Incident

    t = _texts()
    accept = " ".join(f"WHEN '{k}' THEN {v}" for k, v in HANDOVER_ACCEPT_MINUTES.items())
    setup = "CASE o.mode " + " ".join(f"WHEN '{k}' THEN {v}" for k, v in SETUP_S.items()) + " END"
    speed = "CASE o.mode " + " ".join(f"WHEN '{k}' THEN {v}" for k, v in SPEED_MS.items()) + " END"
    n_kind = _arr([SPOTS[k] for k in SPOT_KINDS], "int")
    disputes = "('labour_dispute','property_dispute','neighbour_dispute','other_dispute')"
    ik = "i.ikey"
    ok = "((o.ikey << 4) | o.slot)"

    def pick(array: str, salt: int, key: str = ik) -> str:
        return f"({array})[1 + floor(cardinality({array}) * {U(key, salt)})::int]"

    def nth(array: str, offset: str) -> str:  # distinct picks from one pool: base + offset
        return f"({array})[1 + mod(i.pbase + {offset}, i.n_patrol)]"

    # Who is asked, in the order asked (fixtures.history._Maker._responders): (member, why); a NULL
    # member is not asked; a NULL why is the unit's "on duty" (its name is known per member).
    patrol_why, major_patrol = "'巡逻民警（在岗）'", "CASE WHEN i.cat IN ('mass_incident', 'major_sensitive') THEN '巡逻民警（在岗）' END"
    slots = [
        (f"CASE WHEN i.is_police THEN CASE WHEN i.dayshift THEN g.police ELSE {nth('b.patrol', '0')} END END",
         "CASE WHEN i.dayshift THEN '社区民警（本网格）' ELSE '巡逻民警（在岗）' END"),
        (f"CASE WHEN i.is_police AND {U(ik, 41)} < 0.5 THEN {nth('b.patrol', '1')} END", patrol_why),
        (f"CASE WHEN i.is_police AND i.dayshift AND {U(ik, 42)} < 0.3 THEN {pick('g.workers', 43)} END",
         "'本网格专职网格员（协助）'"),
        (f"""CASE i.cat WHEN 'fire' THEN b.xf[1 + floor(cardinality(b.xf) * {U(ik, 44)})::int]
                        WHEN 'traffic_accident' THEN {pick("b.jj", 45)}
                        WHEN 'work_safety' THEN {pick("b.aq", 46)}
                        WHEN 'department_assist'
                          THEN b.assist[1 + floor(7 * {U(ik, 47)})::int][1 + floor(30 * {U(ik, 48)})::int]
                        WHEN 'mass_incident' THEN {nth("b.patrol", "0")}
                        WHEN 'major_sensitive' THEN {nth("b.patrol", "0")} END""", major_patrol),
        (f"""CASE i.cat WHEN 'fire' THEN b.xf[1 + mod(floor(cardinality(b.xf) * {U(ik, 44)})::int + 1, cardinality(b.xf))]
                        WHEN 'traffic_accident' THEN CASE WHEN {U(ik, 49)} < 0.5 THEN {pick("b.jtz", 50)} END
                        WHEN 'mass_incident' THEN {nth("b.patrol", "1")}
                        WHEN 'major_sensitive' THEN {nth("b.patrol", "1")} END""", major_patrol),
        # The grid's own staff; a share of the disputes after 21:30 still calls the leader (no deadline then).
        (f"CASE WHEN i.gs AND (i.before2130 OR (i.cat IN {disputes} AND {U(ik, 51)} < 0.15)) THEN g.leader END",
         "CASE WHEN i.before2130 THEN '本网格网格长（21:30前）' ELSE '本网格网格长（21:30后，无到场时限）' END"),
        (f"""CASE WHEN i.gs AND (i.dayshift OR NOT i.before2130) AND (i.dayshift OR {U(ik, 52)} < 0.5)
                  THEN {pick("g.workers", 53)} END""", "'本网格专职网格员'"),
        (f"CASE WHEN i.gs AND NOT i.before2130 THEN {nth('b.patrol', '2')} END", "'夜间巡逻民警（21:30后）'"),
        (f"""CASE WHEN i.cat = 'labour_dispute' AND {U(ik, 54)} < 0.6 THEN {pick("b.lb", 55)}
                  WHEN i.cat IN ('mass_incident', 'major_sensitive') AND (g.director <> g.leader OR NOT i.before2130)
                    THEN g.director
                  WHEN i.cat = 'help_request' AND {U(ik, 56)} < 0.25 THEN {nth("b.patrol", "3")} END""",
         "CASE i.cat WHEN 'labour_dispute' THEN NULL WHEN 'help_request' THEN '巡逻民警（在岗）' "
         "ELSE '社区治保主任（重大警情）' END"),
        ("CASE WHEN i.before2130 AND i.contact IS NOT NULL AND i.cat <> 'traffic_accident' THEN i.contact END",
         "'涉事场所联系人（21:30前）'"),
        (f"CASE WHEN i.major THEN {pick('b.responsible', 57)} END", "'街道分管领导（重大警情，第一时间到场）'"),
        (f"CASE WHEN i.major AND (i.cat = 'major_sensitive' OR {U(ik, 58)} < 0.5) THEN {pick('b.principal', 59)} END",
         "'街道主要领导（重大警情，第一时间到场）'"),
    ]
    members = "ARRAY[" + ",\n".join(m for m, _w in slots) + "]::int8[]"
    whys = "ARRAY[" + ",\n".join(w for _m, w in slots) + "]::text[]"

    statements = [
        # 1. The month's cases: day, sub-district, category, hour, spot, channel, caller.
        f"""CREATE TEMP TABLE c_inc ON COMMIT DROP AS
        WITH b AS (
          SELECT c.sub_idx, d.day_idx, d.day, d.weekend, d.summer, d.progress, d.cat_lb, kk > c.n_reg AS joint,
                 (d.day_idx::int8 << 36) | (c.sub_idx::int8 << 20) | kk AS ikey
          FROM citygen.h_count c JOIN citygen.h_day d ON d.day_idx = c.day_idx
          CROSS JOIN LATERAL generate_series(1, c.n_reg + c.n_joint) kk
          WHERE c.day_idx >= %(d0)s AND c.day_idx < %(d1)s
        ), c1 AS MATERIALIZED (
          SELECT b.*, width_bucket({U("b.ikey", 21)}, CASE WHEN b.joint THEN (SELECT joint_lb FROM citygen.h_const)
                                                          ELSE b.cat_lb END) AS cat_idx
          FROM b
        ), c2 AS MATERIALIZED (
          SELECT c1.*, h.category_id, h.is_police, h.code AS cat, h.major_p, h.ch_lb, h.ch_ids, h.ch_district,
            CASE WHEN c1.joint THEN 14 + floor(4 * {U("c1.ikey", 22)})::int
                 ELSE width_bucket({U("c1.ikey", 22)}, CASE WHEN c1.summer THEN h.hours_s ELSE h.hours END) - 1
            END AS hour,
            width_bucket({U("c1.ikey", 23)}, CASE WHEN c1.weekend THEN h.where_we ELSE h.where_wd END) AS kind,
            {pick("h.descriptions", 24, "c1.ikey")} AS template
          FROM c1 JOIN citygen.h_cat h ON h.cat_idx = c1.cat_idx
        ), c3 AS MATERIALIZED (
          SELECT c2.*, s.sub_id,
            c2.day + make_interval(hours => c2.hour, secs => floor(3600 * {U("c2.ikey", 25)})) AS local_ts,
            floor(({n_kind})[c2.kind] * power({U("c2.ikey", 26)}, CASE WHEN c2.joint THEN 4 ELSE 2 END))::int AS spot_idx,
            CASE WHEN c2.joint THEN 0 ELSE width_bucket({U("c2.ikey", 27)}, c2.ch_lb) END AS chn
          FROM c2 JOIN citygen.h_sub s ON s.sub_idx = c2.sub_idx
        )
        SELECT %(first_id)s - 1 + row_number() OVER (ORDER BY c3.local_ts, c3.ikey) AS id,
          row_number() OVER (PARTITION BY c3.day ORDER BY c3.local_ts, c3.ikey) AS seq,
          c3.ikey, c3.sub_idx, c3.sub_id, c3.day, c3.progress, c3.joint, c3.cat_idx, c3.category_id, c3.cat,
          c3.is_police, c3.local_ts, c3.local_ts AT TIME ZONE 'Asia/Shanghai' AS reported_at,
          CASE WHEN c3.joint THEN (SELECT joint_channel FROM citygen.h_const) ELSE c3.ch_ids[c3.chn] END AS channel_id,
          CASE WHEN c3.joint THEN 'j' WHEN c3.ch_district[c3.chn] = 1 THEN 'd' ELSE 'h' END AS ch,
          {U("c3.ikey", 28)} < c3.major_p AS major,
          (ARRAY['radio','wechat','phone','app'])[width_bucket({U("c3.ikey", 29)}, ARRAY[0, 0.45, 0.70, 0.90])]
            AS method,
          {UNI("c3.ikey", 30, 60, 300)} * CASE WHEN NOT c3.joint AND c3.ch_district[c3.chn] = 1 THEN 2.5 ELSE 1 END
            AS t_disp,
          p.grid_id, p.community_id, p.x, p.y, p.address, p.contact,
          replace(c3.template, '{{addr}}', p.address) AS description,
          CASE WHEN c3.joint THEN NULL WHEN {U("c3.ikey", 31)} < 0.05 THEN '匿名' ELSE
            {pick(t["surnames"], 32, "c3.ikey")} || {pick(t["given"], 33, "c3.ikey")}
            || CASE WHEN {U("c3.ikey", 34)} < 0.22 THEN '' ELSE {pick(t["given"], 35, "c3.ikey")} END END AS caller_name,
          CASE WHEN c3.joint OR {U("c3.ikey", 31)} < 0.05 THEN '' ELSE
            {pick(t["mobile"], 36, "c3.ikey")} || lpad(floor(1e8 * {U("c3.ikey", 37)})::int8::text, 8, '0')
          END AS caller_phone
        FROM c3 JOIN citygen.h_spot p ON p.sub_id = c3.sub_id AND p.kind = c3.kind AND p.idx = c3.spot_idx""",
        "ANALYZE c_inc",
        # 2. Who is sent (fixtures.history._Maker._responders) and how each order goes (_order).
        f"""CREATE TEMP TABLE c_slot ON COMMIT DROP AS
        WITH i AS MATERIALIZED (
          SELECT i0.id, i0.ikey, i0.sub_idx, i0.grid_id, i0.t_disp, i0.major, i0.method, i0.x, i0.y, i0.progress,
            i0.is_police, i0.cat, i0.contact, f.disp_h, f.disp_h >= 8.5 AND f.disp_h < 17.5 AND extract(isodow FROM i0.day) < 6 AS dayshift,
            f.disp_h >= 7.5 AND f.disp_h < 21.5 AS before2130, NOT i0.is_police AND i0.cat <> 'traffic_accident' AS gs,
            floor(b.n_patrol * {U("i0.ikey", 40)})::int AS pbase, b.n_patrol
          FROM c_inc i0 JOIN citygen.h_sub b ON b.sub_idx = i0.sub_idx
          CROSS JOIN LATERAL (SELECT
              ((extract(epoch FROM i0.local_ts - i0.day::timestamp)::float8 + i0.t_disp) / 3600.0)
                - 24 * floor((extract(epoch FROM i0.local_ts - i0.day::timestamp)::float8 + i0.t_disp) / 86400.0)
                AS disp_h) f
          WHERE NOT i0.joint
        ), s AS MATERIALIZED (
          SELECT i.id AS incident_id, i.ikey, i.t_disp, i.major, i.method, i.x AS sx, i.y AS sy, i.progress,
                 i.disp_h, v.slot, v.member_id, v.why
          FROM i
          JOIN citygen.h_grid g ON g.grid_id = i.grid_id
          JOIN citygen.h_sub b ON b.sub_idx = i.sub_idx
          CROSS JOIN LATERAL unnest({members}, {whys}) WITH ORDINALITY v(member_id, why, slot)
          WHERE v.member_id IS NOT NULL
        ), o AS MATERIALIZED (
          SELECT s.*, m.binding, m.decline_group, m.name, m.unit_name, m.mode, m.settle,
            coalesce(s.why, m.unit_name || '值班力量（第一时间到场）') AS reason,
            least(0.995, greatest(0.6, m.show + 0.3 * m.trend * (s.progress - 0.5))) AS show,
            least(0.98, greatest(0.4, m.punctual + m.trend * (s.progress - 0.5) + 0.04 * (s.progress - 0.5))) AS punctual,
            m.decline_share,
            CASE m.binding WHEN 'w30' THEN 1800.0
                           WHEN 'b30' THEN CASE WHEN s.disp_h >= 6 AND s.disp_h < 21.5 THEN 1800.0 END
                           WHEN 'lead' THEN CASE WHEN s.major THEN 600.0 ELSE 1800.0 END
                           ELSE 600.0 END AS lim,
            sqrt(((s.sx - m.x) * 96000) ^ 2 + ((s.sy - m.y) * 110574) ^ 2) AS crow, m.roam
          FROM s JOIN citygen.h_member m ON m.member_id = s.member_id
        ), o2 AS MATERIALIZED (
          SELECT o.*,
            round(({setup} + (o.crow + o.roam * abs({G(ok, 60)})) * 1.35 / {speed})::numeric, 1)::float8 AS travel,
            least(600.0, greatest(5.0, 40 * exp(0.6 * {G(ok, 61)}) * (1 + 2 * (0.95 - o.punctual)))) AS acc0,
            {U(ok, 62)} AS r, {setup} AS setup_s
          FROM o
        ), o3 AS MATERIALIZED (
          SELECT o2.*,
            o2.r > o2.show AND o2.r > 1 - (1 - o2.show) * o2.decline_share AS declines,
            o2.r > o2.show AND o2.r <= 1 - (1 - o2.show) * o2.decline_share AS noshow,
            CASE WHEN o2.lim <= 600 THEN 0.5 * o2.acc0 ELSE o2.acc0 END AS acc,
            CASE WHEN o2.lim <= 600 THEN 0.6 ELSE 1.0 END AS hurry
          FROM o2
        ), o4 AS MATERIALIZED (
          SELECT o3.*,
            o3.acc + o3.hurry * ({UNI(ok.replace("o.", "o3."), 63, 0.3, 1.0)} * o3.setup_s
                                 + o3.travel * exp(0.2 * {G(ok.replace("o.", "o3."), 64)})) AS natural
          FROM o3
        )
        SELECT o.incident_id, o.ikey, o.slot, o.member_id, o.reason, o.name, o.unit_name, o.method, o.t_disp,
          NOT o.declines AND NOT o.noshow AS shows, o.declines, o.acc0, o.acc, o.lim, o.travel,
          greatest(CASE WHEN o.lim IS NULL THEN o.natural * {UNI(ok, 65, 1.2, 2.5)} + {UNI(ok, 66, 0, 1200)}
                        WHEN {U(ok, 67)} < o.punctual THEN
                          CASE WHEN o.natural <= o.lim THEN o.natural
                               WHEN o.acc + 0.8 * o.travel < o.lim - 30
                                 THEN {UNI(ok, 68, "greatest(o.acc + 0.8 * o.travel, 0.6 * o.lim)", "o.lim - 20")}
                               ELSE o.natural END
                        ELSE greatest(o.natural, o.lim) + least(5400.0, 420 * exp(0.8 * {G(ok, 69)})) END,
                   o.acc + 30) AS t_arr,
          {U(ok, 70)} < 0.97 AS acc_arrived, {U(ok, 71)} < 0.5 AS acc_noshow,
          least(480.0, o.acc0 * {UNI(ok, 72, 1, 3)}) AS t_decl,
          CASE WHEN o.method = 'app' OR {U(ok, 73)} < 0.25
               THEN round((30 * exp(0.9 * {G(ok, 74)}))::numeric, 1)::float8 END AS gps,
          ({t["decline"]})[o.decline_group][1 + floor(5 * {U(ok, 75)})::int] AS decline_reason
        FROM o4 o""",
        "ANALYZE c_slot",
        # 3. Per case: did anyone come (else the last one asked does), the first arrival, the lead.
        """CREATE TEMP TABLE c_agg ON COMMIT DROP AS
        SELECT incident_id, bool_or(shows) AS any_show, max(slot) AS last_slot,
          coalesce(min(t_arr) FILTER (WHERE shows), (array_agg(t_arr ORDER BY slot DESC))[1]) AS first_arr,
          coalesce((array_agg(t_arr ORDER BY slot) FILTER (WHERE shows))[1],
                   (array_agg(t_arr ORDER BY slot DESC))[1]) AS lead_arr,
          coalesce((array_agg(member_id ORDER BY slot) FILTER (WHERE shows))[1],
                   (array_agg(member_id ORDER BY slot DESC))[1]) AS lead
        FROM c_slot GROUP BY incident_id""",
        "ANALYZE c_agg",
        # 4. The case's timeline (offsets in seconds from the report), open or compressed at the end.
        f"""CREATE TEMP TABLE c_tl ON COMMIT DROP AS
        WITH a AS (
          SELECT i.id, i.ikey, i.joint, i.ch, i.caller_phone, i.sub_id, i.reported_at, i.progress, i.cat,
            i.cat_idx, h.lo, h.hi, h.mode, h.dlo, h.dhi, h.dmode, h.off_unit,
            i.t_disp + g.first_arr AS t_first,
            i.t_disp + greatest(g.first_arr, g.lead_arr) + 60 * {UNI(ik, 80, 5, 40)} AS t_rep,
            NOT i.joint AND {U(ik, 81)} < least(0.9, h.transfer * coalesce(m.settle, 1)) AS transferred,
            extract(epoch FROM e.t_end - i.reported_at)::float8 AS e_rel
          FROM c_inc i JOIN citygen.h_cat h ON h.cat_idx = i.cat_idx
          LEFT JOIN c_agg g ON g.incident_id = i.id
          LEFT JOIN citygen.h_member m ON m.member_id = g.lead
          CROSS JOIN citygen.h_end e
        ), b AS MATERIALIZED (
          SELECT a.*, a.joint OR a.transferred AS off_site,
            CASE WHEN a.joint THEN 0.0 WHEN a.transferred THEN a.t_rep + 60 * {UNI("a.ikey", 82, 10, 90)} END AS t_tr
          FROM a
        ), c AS MATERIALIZED (
          SELECT b.*, b.t_tr + 3600 * CASE WHEN b.joint THEN {UNI("b.ikey", 83, 0.5, 24)}
                                           ELSE {UNI("b.ikey", 83, 0.5, 6)} END AS t_hacc
          FROM b
        ), d AS MATERIALIZED (
          SELECT c.*,
            CASE WHEN c.off_site THEN c.t_hacc + 86400 * {TRI("c.ikey", 84, "c.dlo", "c.dhi", "c.dmode")}
                 ELSE c.t_rep + 60 * {TRI("c.ikey", 85, "c.lo", "c.hi", "c.mode")} END AS t_res
          FROM c
        ), e AS MATERIALIZED (
          SELECT d.*, CASE WHEN d.off_site THEN d.t_res + 3600 * {UNI("d.ikey", 86, 1, 24)} END AS t_rtc
          FROM d
        ), f AS MATERIALIZED (
          SELECT e.*, coalesce(e.t_rtc, e.t_res) + 60 * {UNI("e.ikey", 87, 10, 480)} AS t_fb FROM e
        ), g AS MATERIALIZED (
          SELECT f.*, CASE WHEN f.ch = 'h' AND f.caller_phone <> '' THEN f.t_fb + 3600 * {UNI("f.ikey", 88, 0.5, 20)}
                      END AS t_cb FROM f
        ), h AS MATERIALIZED (
          SELECT g.*, coalesce(g.t_cb, g.t_fb) + 3600 * {UNI("g.ikey", 89, 0.5, 24)} AS t_close,
            g.off_site AND g.t_hacc < g.e_rel AND g.t_rtc > g.e_rel AS open,
            CASE WHEN g.e_rel > 3600 THEN g.e_rel - 60 ELSE 0.98 * g.e_rel END AS lim_rel
          FROM g
        )
        SELECT h.*, CASE WHEN h.open OR h.t_close <= h.lim_rel THEN 1.0 ELSE h.lim_rel / h.t_close END AS scale,
          CASE WHEN h.joint AND h.cat = 'department_assist'
               THEN ({ASSIST_UNITS_SQL})[1 + floor(7 * {U("h.ikey", 90)})::int] ELSE h.off_unit END AS unit_code
        FROM h""",
        "ANALYZE c_tl",
    ]
    order_cols = ["id", "incident_id", "member_id", "method", "state", "dispatched_at", "arrive_by", "accepted_at",
                  "arrived_at", "declined_at", "decline_reason", "reason", "level", "off_duty_override",
                  "travel_seconds", "arrival_distance_m", "arrival_flagged", "overdue_escalated_at", "stood_down_at",
                  "stand_down_reason", "confirm_step"]
    x_cols, x_vals, params = _extra(DispatchOrder, order_cols, "xo")
    statements.append(f"""INSERT INTO dispatch_dispatchorder ({", ".join(order_cols)}{x_cols})
        SELECT (s.incident_id << 4) | s.slot, s.incident_id, s.member_id, s.method, w.state, w.sent,
          w.arrive_by, w.accepted_at, w.arrived_at, w.declined_at,
          CASE WHEN w.state = 'declined' THEN s.decline_reason ELSE '' END, s.reason, 0, false, s.travel,
          CASE WHEN w.state = 'arrived' THEN s.gps END, w.state = 'arrived' AND coalesce(s.gps > 300, false),
          w.escalated, w.stood_down_at,
          CASE WHEN w.state <> 'stood_down' THEN ''
               ELSE replace(replace(CASE WHEN w.escalated IS NOT NULL
                                         THEN {pick(t["late_stood_down"], 76, "s.ikey << 4 | s.slot")}
                                         ELSE {t["stood_down"]} END, '{{name}}', s.name), '{{unit}}', s.unit_name) END,
          0{x_vals}
        FROM c_slot s JOIN c_agg g ON g.incident_id = s.incident_id JOIN c_tl t ON t.id = s.incident_id
        CROSS JOIN LATERAL (SELECT
          CASE WHEN s.shows OR (NOT g.any_show AND s.slot = g.last_slot) THEN 'arrived'
               WHEN s.declines THEN 'declined' ELSE 'stood_down' END AS state) st
        CROSS JOIN LATERAL (SELECT st.state,
          t.reported_at + make_interval(secs => s.t_disp * t.scale) AS sent,
          t.reported_at + make_interval(secs => s.t_disp * t.scale + s.lim) AS arrive_by,
          CASE WHEN st.state = 'arrived' AND s.acc_arrived THEN t.reported_at + make_interval(secs => (s.t_disp + s.acc) * t.scale)
               WHEN st.state = 'stood_down' AND s.acc_noshow THEN t.reported_at + make_interval(secs => (s.t_disp + s.acc0) * t.scale)
          END AS accepted_at,
          CASE WHEN st.state = 'arrived' THEN t.reported_at + make_interval(secs => (s.t_disp + s.t_arr) * t.scale) END
            AS arrived_at,
          CASE WHEN st.state = 'declined' THEN t.reported_at + make_interval(secs => (s.t_disp + s.t_decl) * t.scale) END
            AS declined_at,
          CASE WHEN st.state = 'stood_down' THEN t.reported_at + make_interval(secs => t.scale * greatest(
                 t.t_first + {UNI("s.ikey << 4 | s.slot", 77, 0, 900)}, s.t_disp + {UNI("s.ikey << 4 | s.slot", 78, 300, 3600)},
                 s.t_disp + CASE WHEN s.acc_noshow THEN s.acc0 ELSE 0 END + 60)) END AS stood_down_at
        ) w0
        CROSS JOIN LATERAL (SELECT w0.*,
          CASE WHEN w0.arrive_by IS NOT NULL AND w0.state <> 'declined'
                    AND coalesce(w0.arrived_at, w0.stood_down_at) > w0.arrive_by THEN w0.arrive_by END AS escalated) w
        ORDER BY 1""")
    inc_cols = ["id", "number", "external_id", "flow", "status", "major", "description", "address_text", "location",
                "caller_name", "caller_phone", "reported_at", "created_at", "updated_at", "resolved_at", "closed_at",
                "category_id", "channel_id", "community_id", "grid_id", "subdistrict_id", "deadline",
                "outside_jurisdiction", "reopen_count", "level", "major_notified_at"]
    x_cols, x_vals, more = _extra(Incident, inc_cols, "xi")
    params.update(more)
    statements.append(f"""INSERT INTO incidents_incident ({", ".join(inc_cols)}{x_cols})
        SELECT i.id, to_char(i.day, 'YYYYMMDD') || '-' || CASE WHEN i.seq < 10000 THEN lpad(i.seq::text, 4, '0')
                                                               ELSE i.seq::text END,
          CASE i.ch WHEN 'd' THEN 'YHLD' || to_char(i.day, 'YYYYMMDD') || lpad(i.seq::text, 5, '0')
                    WHEN 'j' THEN 'LXJB' || to_char(i.day, 'IYYY-IW') || '-' || lpad(i.seq::text, 5, '0') END,
          CASE WHEN t.off_site THEN 'off_site' ELSE 'on_site' END, CASE WHEN t.open THEN 'in_progress' ELSE 'closed' END,
          i.major, i.description, i.address, ST_SetSRID(ST_MakePoint(i.x, i.y), 4326),
          coalesce(i.caller_name, cm.name || '网格'), i.caller_phone, i.reported_at, i.reported_at,
          CASE WHEN t.open THEN i.reported_at + make_interval(secs => t.t_hacc)
               ELSE i.reported_at + make_interval(secs => t.t_close * t.scale) END,
          CASE WHEN NOT t.open THEN i.reported_at + make_interval(secs => t.t_res * t.scale) END,
          CASE WHEN NOT t.open THEN i.reported_at + make_interval(secs => t.t_close * t.scale) END,
          i.category_id, i.channel_id, i.community_id, i.grid_id, i.sub_id,
          CASE WHEN i.joint THEN i.reported_at + interval '7 days' END, false, 0, 0,
          CASE WHEN i.major THEN i.reported_at + make_interval(secs => t.scale * {UNI(ik, 91, 5, 40)}) END{x_vals}
        FROM c_inc i JOIN c_tl t ON t.id = i.id JOIN geo_community cm ON cm.id = i.community_id
        ORDER BY i.id""")
    ho_cols = ["id", "incident_id", "unit_id", "kind", "state", "reason", "accept_by", "deadline", "lead", "created_at",
               "decided_at", "return_reason", "completed_at", "result", "on_behalf_reason"]
    x_cols, x_vals, more = _extra(Handover, ho_cols, "xh")
    params.update(more)
    statements.append(f"""INSERT INTO incidents_handover ({", ".join(ho_cols)}{x_cols})
        SELECT t.id, t.id, u.unit_id, CASE WHEN t.joint THEN 'assignment' ELSE 'transfer' END,
          CASE WHEN t.open THEN 'accepted' ELSE 'completed' END,
          CASE WHEN t.joint THEN i.description ELSE '现场未能调处，移交' || u.name || '跟进' END,
          w.created + make_interval(mins => CASE u.kind {accept} ELSE {HANDOVER_ACCEPT_MINUTES_DEFAULT} END),
          CASE WHEN t.joint THEN t.reported_at + interval '7 days'
               ELSE w.created + make_interval(hours => CASE u.kind WHEN 'police_station' THEN 24
                                                                    WHEN 'grid_squad' THEN 48 ELSE 72 END) END,
          true, w.created, t.reported_at + make_interval(secs => t.t_hacc * t.scale), '',
          CASE WHEN NOT t.open THEN t.reported_at + make_interval(secs => t.t_res * t.scale) END,
          CASE WHEN t.open THEN '' ELSE {pick("hc.results", 92, "t.ikey")} END, ''{x_vals}
        FROM c_tl t JOIN c_inc i ON i.id = t.id JOIN citygen.h_unit u ON u.sub_id = t.sub_id AND u.code = t.unit_code
        JOIN citygen.h_cat hc ON hc.cat_idx = t.cat_idx
        CROSS JOIN LATERAL (SELECT t.reported_at + make_interval(secs => t.t_tr * t.scale) AS created) w
        WHERE t.off_site ORDER BY t.id""")
    cb_cols = ["id", "incident_id", "phone", "name", "state", "satisfaction", "note", "created_at", "done_at"]
    x_cols, x_vals, more = _extra(CallbackTask, cb_cols, "xc")
    params.update(more)
    statements.append(f"""INSERT INTO incidents_callbacktask ({", ".join(cb_cols)}{x_cols})
        SELECT t.id, t.id, i.caller_phone, i.caller_name, v.state, v.satisfaction, v.note,
          t.reported_at + make_interval(secs => t.t_fb * t.scale), t.reported_at + make_interval(secs => t.t_cb * t.scale)
          {x_vals}
        FROM c_tl t JOIN c_inc i ON i.id = t.id
        CROSS JOIN LATERAL (SELECT {U("t.ikey", 93)} AS r0, {U("t.ikey", 94)} AS r,
                                   0.065 - 0.03 * t.progress AS dis, 0.70 + 0.12 * t.progress AS sat) p
        CROSS JOIN LATERAL (SELECT
          CASE WHEN p.r0 < 0.06 THEN 'unreachable' ELSE 'done' END AS state,
          CASE WHEN p.r0 < 0.06 THEN '' WHEN p.r < p.dis THEN 'dissatisfied' WHEN p.r < p.dis + p.sat THEN 'satisfied'
               ELSE 'basically_satisfied' END AS satisfaction,
          CASE WHEN p.r0 < 0.06 THEN '电话无人接听' WHEN p.r < p.dis THEN '对处理结果不满意，已做解释工作'
               WHEN p.r < p.dis + p.sat THEN '回访满意' ELSE '回访基本满意' END AS note) v
        WHERE t.t_cb IS NOT NULL AND NOT t.open ORDER BY t.id""")
    statements.append("""INSERT INTO incidents_incidentcounter (day, last)
        SELECT day, max(seq) FROM c_inc GROUP BY day""")
    return statements, params


def _history(settings_dict: dict, months, workers: int, progress: Progress, total: int) -> tuple[int, int, int, int]:
    """The months in `workers` connections at once, each month in one transaction."""
    statements, params = _chunk_sql()
    queue = list(months)
    lock = threading.Lock()
    done = {"incidents": 0, "orders": 0, "handovers": 0, "callbacks": 0, "months": 0}
    errors: list[BaseException] = []
    started = time.perf_counter()

    def work():
        conn = _raw(settings_dict)
        try:
            while True:
                with lock:
                    if not queue or errors:
                        return
                    month, d0, d1, first_id = queue.pop(0)
                t0 = time.perf_counter()
                rows = {}
                with conn.transaction(), conn.cursor() as cur:
                    for sql in statements:
                        cur.execute(sql, {**params, "d0": d0, "d1": d1, "first_id": first_id})
                        for table in ("dispatchorder", "incidents_incident ", "handover", "callbacktask"):
                            if sql.lstrip().startswith("INSERT") and table in sql.split("(")[0]:
                                rows[table] = cur.rowcount
                with lock:
                    done["incidents"] += rows["incidents_incident "]
                    done["orders"] += rows["dispatchorder"]
                    done["handovers"] += rows["handover"]
                    done["callbacks"] += rows["callbacktask"]
                    done["months"] += 1
                    elapsed = time.perf_counter() - started
                    left = elapsed / done["incidents"] * (total - done["incidents"]) if done["incidents"] else 0
                    progress(f"city:   {month // 100}-{month % 100:02d} ({done['months']}/{len(months)}): "
                             f"{rows['incidents_incident ']:,} incidents, {rows['dispatchorder']:,} orders in "
                             f"{time.perf_counter() - t0:.1f} s — {done['incidents']:,} of {total:,} "
                             f"({100 * done['incidents'] / total:.0f} %), about {left / 60:.1f} min left")
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=work) for _ in range(min(workers, len(months)))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    return done["incidents"], done["orders"], done["handovers"], done["callbacks"]


def _finish(cur) -> None:
    """Sequences past the ids written, then statistics for the planner."""
    for table in ("incidents_incident", "dispatch_dispatchorder", "incidents_handover", "incidents_callbacktask",
                  "dispatch_member", "dispatch_unit", "geo_grid", "geo_community", "geo_subdistrict"):
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - our table names
                    f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
    cur.execute("VACUUM (ANALYZE) incidents_incident, dispatch_dispatchorder, incidents_handover, incidents_callbacktask, "
                "incidents_incidentcounter, dispatch_member, dispatch_member_grids, dispatch_unit, geo_grid, "
                "geo_community, geo_subdistrict")


# --- command line ---------------------------------------------------------------------------------

def throwaway_database(name: str):
    """Create (and migrate) the database `name` as the test runner does; returns the old name to
    pass to `drop_database`. Django must be set up."""
    from django.conf import settings
    from django.db import connection

    settings.DATABASES["default"]["TEST"]["NAME"] = name
    return connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)


def drop_database(original: str) -> None:
    from django.db import connection

    connection.creation.destroy_test_db(original, verbosity=0)


def use_database(name: str) -> None:
    """Point Django's default connection at the existing database `name`."""
    from django.conf import settings
    from django.db import connection

    connection.close()
    settings.DATABASES["default"]["NAME"] = name
    connection.settings_dict["NAME"] = name


def setup_django() -> None:
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subdistricts", type=int, default=190)
    parser.add_argument("--incidents", type=int, default=int(os.environ.get("CITY_INCIDENTS", 10_000_000)))
    parser.add_argument("--years", type=float, default=None, help="the span (default: at the demo's rate)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--anchor", type=date.fromisoformat, default=None, help="the history ends at this day's start")
    parser.add_argument("--workers", type=int, default=None, help="connections loading at once (default: CPUs, ≤ 4)")
    parser.add_argument("--database", default=None, help="database name (default: city_<pid>)")
    parser.add_argument("--keep", action="store_true", help="keep the database (else it is dropped at the end)")
    args = parser.parse_args()
    setup_django()
    name = args.database or f"city_{os.getpid()}"
    original = throwaway_database(name)
    try:
        from django.db import connection

        generate(connection, subdistricts=args.subdistricts, incidents=args.incidents, years=args.years,
                 seed=args.seed, anchor=args.anchor, workers=args.workers)
    finally:
        if args.keep:
            print(f"city: kept database {name}")
        else:
            drop_database(original)
    return 0


if __name__ == "__main__":
    sys.exit(main())
