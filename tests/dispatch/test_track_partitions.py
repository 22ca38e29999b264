"""The position track partitioned by local day (migration dispatch/0015, dispatch/track_partitions.py):
the table's shape, partitions made ahead, fixes outside every partition caught by DEFAULT and moved
into their day's partition when it is made, old days dropped with their fixes after
POSITION_TRACK_DAYS, the ingest's one-fix-per-member-and-time across partitions, the replay and a
window across midnight reading two partitions, the SLA clock's hourly call and the command."""

import logging
from datetime import date, datetime, time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from config.roles import UserRole
from dispatch import track_partitions as tp
from dispatch.management.commands import run_sla_clock
from dispatch.models import Force, Member, PositionFix, TravelMode
from dispatch.positions import Fix, positions_ingest
from tests.factories import S, W, make_user, make_world
from wall import selectors

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAR = date(2031, 3, 10)  # a day no partition covers in the test database (made from the real today)


def at(day: date, hh: int = 12, mm: int = 0, ss: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm, ss), tzinfo=SHANGHAI)


def add_fix(member: Member, when: datetime, lon: float = W + 0.001) -> PositionFix:
    return PositionFix.objects.create(member=member, recorded_at=when, point=Point(lon, S + 0.001, srid=4326),
                                      received_at=when)


def home_of(fix_id: int) -> str:
    """The partition a fix is stored in."""
    with connection.cursor() as cur:
        cur.execute("SELECT tableoid::regclass::text FROM dispatch_positionfix WHERE id = %s", [fix_id])
        row = cur.fetchone()
    return row[0] if row else ""


def names() -> set[str]:
    return {p.name for p in tp.track_partitions()}


def in_default() -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {tp.DEFAULT}")  # noqa: S608 - a constant
        return cur.fetchone()[0]


@pytest.fixture
def member():
    return make_world()["member"]


# --- the table --------------------------------------------------------------------------------------

def test_the_track_is_partitioned_by_range_of_its_time_with_a_default_partition():
    with connection.cursor() as cur:
        cur.execute("""SELECT p.partstrat, a.attname FROM pg_partitioned_table p
                       JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
                       WHERE p.partrelid = 'dispatch_positionfix'::regclass""")
        assert cur.fetchall() == [("r", "recorded_at")]
        # the key in every unique constraint: primary key (id, recorded_at), unique (member, time)
        cur.execute("""SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint
                       WHERE conrelid = 'dispatch_positionfix'::regclass AND contype IN ('p', 'u') ORDER BY 1""")
        assert cur.fetchall() == [("dispatch_positionfix_pkey", "p", "PRIMARY KEY (id, recorded_at)"),
                                  ("position_fix_member_time", "u", "UNIQUE (member_id, recorded_at)")]
        # the BRIN index is the parent's: every partition has one
        cur.execute("""SELECT c.relkind, am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam
                       WHERE c.relname = 'position_fix_time_brin'""")
        assert cur.fetchall() == [("I", "brin")]
        cur.execute("""SELECT count(*) FROM pg_constraint WHERE confrelid = 'dispatch_positionfix'::regclass""")
        assert cur.fetchone()[0] == 0  # nothing references a fix
    partitions = tp.track_partitions()
    assert partitions[-1].name == tp.DEFAULT and partitions[-1].default
    today = timezone.localdate()
    assert tp.partition_name(today) in names()  # made by the migration (or the clock since)
    for p in partitions[:-1]:
        assert p.start is not None and p.end is not None
        assert timezone.localtime(p.start).time() == time.min and p.end - p.start == timedelta(days=1)


def test_orm_writes_and_reads_through_the_partitions(member):
    tp.track_partition_ensure(FAR)
    fix = add_fix(member, at(FAR, 9))
    assert fix.pk and home_of(fix.pk) == tp.partition_name(FAR)
    fix.accuracy_m = 4.5
    fix.save()
    assert PositionFix.objects.get(pk=fix.pk).accuracy_m == 4.5
    later = add_fix(member, at(FAR + timedelta(days=400)))  # no partition: DEFAULT
    assert later.pk > fix.pk and home_of(later.pk) == tp.DEFAULT
    assert list(member.fixes.order_by("recorded_at").values_list("pk", flat=True)) == [fix.pk, later.pk]
    fix.delete()
    assert list(PositionFix.objects.values_list("pk", flat=True)) == [later.pk]


# --- made ahead, moved out of DEFAULT, dropped after POSITION_TRACK_DAYS --------------------------

def test_partitions_are_made_for_today_and_the_days_ahead_once(settings, caplog):
    settings.POSITION_TRACK_DAYS_AHEAD = 3
    with caplog.at_level(logging.INFO, logger="gridlink.track_partitions"):
        done = tp.track_partitions_maintain(today=FAR)
    assert done.created == [FAR + timedelta(days=k) for k in range(4)]
    assert not done.failed
    by_name = {p.name: p for p in tp.track_partitions()}
    for k in range(4):
        p = by_name[tp.partition_name(FAR + timedelta(days=k))]
        assert (p.start, p.end) == tp.day_bounds(FAR + timedelta(days=k))
    assert "created 4 day partitions" in caplog.text
    again = tp.track_partitions_maintain(today=FAR)
    assert again.created == [] and again.dropped == [] and not again.failed


def test_a_fix_outside_every_partition_lands_in_default_and_moves_when_its_day_is_made(member):
    far = add_fix(member, at(FAR, 23, 59, 59))
    late = add_fix(member, at(FAR + timedelta(days=1), 0, 0, 1))  # the next day: stays in DEFAULT
    assert home_of(far.pk) == home_of(late.pk) == tp.DEFAULT
    assert tp.track_partition_ensure(FAR) == (True, 1)
    assert home_of(far.pk) == tp.partition_name(FAR)  # the same row, id kept
    assert home_of(late.pk) == tp.DEFAULT
    assert tp.track_partition_ensure(FAR) == (False, 0)  # there already
    # made ahead by a run whose reach includes the day: the next day's fix moves too
    done = tp.track_partitions_maintain(today=FAR, ahead=1)
    assert done.created == [FAR + timedelta(days=1)] and done.moved == 1
    assert home_of(late.pk) == tp.partition_name(FAR + timedelta(days=1))
    assert in_default() == 0


def test_a_past_days_fixes_in_default_get_their_partition_and_older_ones_are_deleted(member, settings):
    settings.POSITION_TRACK_DAYS = 30
    today = timezone.localdate()
    stray_day = today - timedelta(days=10)  # stored while no partition existed (the clock was down)
    assert tp.partition_name(stray_day) not in names()
    stray = add_fix(member, at(stray_day, 8))
    ancient = add_fix(member, at(today - timedelta(days=31), 8))  # past the period
    assert home_of(stray.pk) == home_of(ancient.pk) == tp.DEFAULT
    done = tp.track_partitions_maintain()
    assert stray_day in done.created and done.moved == 1 and done.purged == 1
    assert home_of(stray.pk) == tp.partition_name(stray_day)
    assert not PositionFix.objects.filter(pk=ancient.pk).exists()


def test_partitions_older_than_the_period_are_dropped_with_their_fixes(member, settings):
    settings.POSITION_TRACK_DAYS = 2
    days = [FAR - timedelta(days=k) for k in range(5, -1, -1)]  # FAR-5 … FAR
    for day in days:
        tp.track_partition_ensure(day)
    fixes = {day: add_fix(member, at(day, 10)) for day in days}
    done = tp.track_partitions_maintain(today=FAR, ahead=0)
    # kept: today and the 2 days before it; FAR-3 ends at the cut-off (FAR-2 00:00) and goes
    dropped = {tp.partition_name(FAR - timedelta(days=k)) for k in (3, 4, 5)}
    assert dropped <= set(done.dropped)
    assert not dropped & names()
    left = set(PositionFix.objects.values_list("recorded_at", flat=True))
    assert left == {at(FAR - timedelta(days=k), 10) for k in (0, 1, 2)}
    for k in (0, 1, 2):
        assert home_of(fixes[FAR - timedelta(days=k)].pk) == tp.partition_name(FAR - timedelta(days=k))
    assert tp.track_partitions_maintain(today=FAR, ahead=0).dropped == []


# --- the ingest: one fix per member and time, across partitions -----------------------------------

def test_the_ingest_skips_fixes_the_track_holds_in_any_partition(member):
    tp.track_partition_ensure(FAR)
    tp.track_partition_ensure(FAR + timedelta(days=1))
    before, after = at(FAR, 23, 59, 58), at(FAR + timedelta(days=1), 0, 0, 2)
    outside = at(FAR + timedelta(days=30))  # DEFAULT
    batch = [Fix(member.pk, when, W + 0.001, S + 0.001, 5.0) for when in (before, after, outside)]
    assert positions_ingest(fixes=batch) == 3
    assert positions_ingest(fixes=batch) == 0  # the same batch again: nothing new
    extra = Fix(member.pk, after + timedelta(seconds=10), W + 0.002, S + 0.001, 5.0)
    assert positions_ingest(fixes=[*batch, extra]) == 1
    homes = {row.recorded_at: home_of(row.pk) for row in PositionFix.objects.all()}
    assert homes == {before: tp.partition_name(FAR), after: tp.partition_name(FAR + timedelta(days=1)),
                     extra.recorded_at: tp.partition_name(FAR + timedelta(days=1)), outside: tp.DEFAULT}
    # the DEFAULT partition's fix moved into its day: still the one fix of that member and time
    tp.track_partition_ensure(FAR + timedelta(days=30))
    assert positions_ingest(fixes=batch[2:]) == 0
    assert PositionFix.objects.count() == 4


# --- the replay and a window across midnight ---------------------------------------------------------

def test_the_replay_reads_each_day_from_its_partition_and_a_window_across_midnight_reads_both():
    world = make_world()
    m1 = world["member"]
    m2 = Member.objects.create(subdistrict=world["subdistrict"], unit=world["unit"], code="T1-M2", name="李娜",
                               force=Force.POLICE, phone="13800000002", travel_mode=TravelMode.CAR,
                               home=Point(W + 0.002, S + 0.002, srid=4326))
    today = timezone.localdate()
    day1, day2 = today - timedelta(days=2), today - timedelta(days=1)
    for day in (day1, day2):
        tp.track_partition_ensure(day)
    fixes = {
        "d1-morning": add_fix(m1, at(day1, 9)),
        "d1-late": add_fix(m1, at(day1, 23, 59, 50)),
        "d2-early": add_fix(m1, at(day2, 0, 0, 10)),
        "d2-noon": add_fix(m2, at(day2, 12)),
    }
    assert {home_of(f.pk) for f in fixes.values()} == {tp.partition_name(day1), tp.partition_name(day2)}
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(make_user("pt-disp", UserRole.DISPATCHER))
    url = reverse("wall:replay", args=[world["subdistrict"].code])

    def track_times(day: date) -> dict[str, list[datetime]]:
        response = client.get(url, {"date": day.isoformat()})
        assert response.status_code == 200, response.content
        return {member: [datetime.fromisoformat(t) for t, _lon, _lat in points]
                for member, points in response.json()["tracks"].items()}

    assert track_times(day1) == {str(m1.pk): [at(day1, 9), at(day1, 23, 59, 50)]}
    assert track_times(day2) == {str(m1.pk): [at(day2, 0, 0, 10)], str(m2.pk): [at(day2, 12)]}
    # a window across midnight: both partitions, and only those
    start, end = at(day1, 23), at(day2, 1)
    tracks = selectors._tracks(world["subdistrict"].pk, start, end, selectors._Iso())
    assert list(tracks) == [str(m1.pk)] and len(tracks[str(m1.pk)]) == 2
    window = PositionFix.objects.filter(recorded_at__gte=start, recorded_at__lt=end)
    assert set(window.values_list("pk", flat=True)) == {fixes["d1-late"].pk, fixes["d2-early"].pk}
    with connection.cursor() as cur:
        sql, params = window.query.sql_with_params()
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cur.fetchall())
    scanned = {p.name for p in tp.track_partitions() if p.name in plan}
    assert scanned == {tp.partition_name(day1), tp.partition_name(day2)}, plan


# --- who runs it: the SLA clock, hourly, and the command ----------------------------------------------

def test_the_clock_keeps_the_partitions_when_it_starts_and_hourly(monkeypatch, caplog):
    calls = []
    monkeypatch.setattr(run_sla_clock, "sla_tick", lambda **kw: 0)
    monkeypatch.setattr(run_sla_clock, "photos_orphans_sweep", lambda **kw: 0)
    monkeypatch.setattr(run_sla_clock, "track_partitions_maintain", lambda: calls.append(1))
    tick = run_sla_clock.ClockTick()
    tick()
    assert len(calls) == 1  # at start
    tick()
    tick()
    assert len(calls) == 1  # not again within the hour
    assert tick.partitioned_at is not None
    tick.partitioned_at -= run_sla_clock.TRACK_PARTITIONS_EVERY.total_seconds()
    tick()
    assert len(calls) == 2

    def broken():
        raise RuntimeError("no")

    monkeypatch.setattr(run_sla_clock, "track_partitions_maintain", broken)
    tick.partitioned_at = None
    with caplog.at_level(logging.ERROR, logger="gridlink.sla"):
        assert tick() == 0  # the deadlines go on
    assert "keeping the track's partitions failed" in caplog.text


def test_the_clock_makes_a_missing_partition_for_real(member, monkeypatch):
    """One real look of the clock: today's partition, dropped (DEFAULT took today's fixes meanwhile),
    is made again and the fix moved into it."""
    monkeypatch.setattr(run_sla_clock, "photos_orphans_sweep", lambda **kw: 0)
    today = timezone.localdate()
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {tp.partition_name(today)}")
    fix = add_fix(member, timezone.now())
    assert home_of(fix.pk) == tp.DEFAULT
    run_sla_clock.ClockTick()()
    assert home_of(fix.pk) == tp.partition_name(today)


def test_the_command_keeps_and_lists_the_partitions():
    out = StringIO()
    call_command("track_partitions", "--ahead", "9", "--list", stdout=out)
    text = out.getvalue()
    today = timezone.localdate()
    assert "created" in text and "dropped" in text
    assert tp.partition_name(today + timedelta(days=9)) in text and tp.DEFAULT in text
    assert tp.partition_name(today + timedelta(days=9)) in names()
