"""The demo sub-district in PostGIS (loaded once per session by tests/conftest.py): the invariants of
the generator, checked again in SQL, and `seed_demo`'s idempotence."""

from datetime import date, datetime, time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.db.models import F

from config.roles import UserRole
from dispatch.models import FORCE_STRENGTH, Alarm, DispatchOrder, DutyShift, Member
from fixtures.demo import DEMO_CODE
from fixtures.load import demo_top_up_rosters
from fixtures.seed import DEMO_USERS, demo_counts, read_credentials, seed_demo
from geo.models import BoundaryVersion, Subdistrict
from incidents.models import CallbackTask, Handover, Incident, IncidentEvent, Party, Report
from tests.conftest import DEMO_ANCHOR, DEMO_HISTORY_DAYS

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def scalar(sql: str, params=()):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


@pytest.fixture
def sub(demo):
    return Subdistrict.objects.get(code=DEMO_CODE)


def test_counts(demo, sub):
    by_force = {f: Member.objects.filter(subdistrict=sub, force=f).count() for f in FORCE_STRENGTH}
    assert by_force == dict(FORCE_STRENGTH)
    c = demo_counts()
    assert c["communities"] == 13 and c["grids"] == 52 and c["members"] == 692
    assert c["roads"] == len(demo.roads) and c["addresses"] == len(demo.addresses)
    assert c["incidents"] == len(demo.incidents)
    assert c["events"] == sum(len(i.events) for i in demo.incidents)
    assert Report.objects.filter(incident__subdistrict=sub).count() == len(demo.incidents)
    assert Member.grids.through.objects.filter(member__subdistrict=sub).count() == 52 + 74 + 13 * 4
    version = BoundaryVersion.objects.get(subdistrict=sub)
    assert version.number == 1 and version.status == BoundaryVersion.Status.PUBLISHED
    assert version.effective_from == datetime(2019, 1, 1, tzinfo=SHANGHAI)


def test_places_addresses_and_incidents_lie_in_a_published_grid(sub):
    for table, column in (("geo_place", "location"), ("geo_address", "location"), ("incidents_incident", "location"),
                          ("dispatch_member", "home")):
        missing = scalar(f"""
            SELECT count(*) FROM {table} t WHERE t.subdistrict_id = %s AND NOT EXISTS (
              SELECT 1 FROM geo_grid g JOIN geo_boundaryversion v ON v.id = g.version_id
              WHERE v.status = 'published' AND g.subdistrict_id = t.subdistrict_id
                AND ST_Covers(g.boundary, t.{column}))""", [sub.pk])  # noqa: S608 - fixed table names
        assert missing == 0, table
    # An incident keeps the grid its point fell in.
    wrong = scalar("""
        SELECT count(*) FROM incidents_incident i JOIN geo_grid g ON g.id = i.grid_id
        WHERE i.subdistrict_id = %s AND NOT ST_Covers(g.boundary, i.location)""", [sub.pk])
    assert wrong == 0


def test_grids_tile_the_subdistrict(sub):
    assert scalar("""
        SELECT count(*) FROM geo_grid a JOIN geo_grid b ON a.id < b.id AND a.version_id = b.version_id
        WHERE a.subdistrict_id = %s AND ST_Overlaps(a.boundary, b.boundary)""", [sub.pk]) == 0
    overlap = scalar("""
        SELECT coalesce(max(ST_Area(ST_Intersection(a.boundary, b.boundary)::geography)), 0)
        FROM geo_grid a JOIN geo_grid b ON a.id < b.id AND ST_Intersects(a.boundary, b.boundary)
        WHERE a.subdistrict_id = %s AND b.subdistrict_id = %s""", [sub.pk, sub.pk])
    assert overlap < 0.01
    gap = scalar("""
        SELECT ST_Area(ST_SymDifference(ST_Union(g.boundary), s.boundary)::geography)
        FROM geo_grid g JOIN geo_subdistrict s ON s.id = g.subdistrict_id WHERE s.id = %s
        GROUP BY s.boundary""", [sub.pk])
    assert gap < 1.0
    area_km2 = scalar("SELECT ST_Area(boundary::geography) / 1e6 FROM geo_subdistrict WHERE id = %s", [sub.pk])
    assert 30 <= area_km2 <= 40
    assert scalar("SELECT bool_and(ST_IsValid(boundary)) FROM geo_grid WHERE subdistrict_id = %s", [sub.pk])


def test_road_graph_is_connected_with_pgrouting(sub):
    # The edge query is built by PostgreSQL's format(), from a bound parameter.
    undirected = ("SELECT count(DISTINCT component) FROM pgr_connectedComponents(format("
                  "'SELECT id, source, target, length_m AS cost, length_m AS reverse_cost "
                  "FROM geo_road WHERE subdistrict_id = %%s', %s::bigint))")
    assert scalar(undirected, [sub.pk]) == 1
    directed = ("SELECT count(DISTINCT component) FROM pgr_strongComponents(format("
                "'SELECT id, source, target, length_m AS cost, "
                "CASE WHEN one_way THEN -1 ELSE length_m END AS reverse_cost "
                "FROM geo_road WHERE subdistrict_id = %%s', %s::bigint))")
    assert scalar(directed, [sub.pk]) == 1
    # Only bridges cross the river.
    assert scalar("""
        SELECT count(*) FROM geo_road r JOIN geo_water w ON w.subdistrict_id = r.subdistrict_id
        WHERE r.subdistrict_id = %s AND NOT r.is_bridge AND ST_Intersects(r.line, w.area)""", [sub.pk]) == 0
    assert 3 <= scalar("SELECT count(*) FROM geo_road WHERE subdistrict_id = %s AND is_bridge", [sub.pk]) <= 4


def test_timelines_refer_to_real_rows(demo, sub):
    incidents = Incident.objects.filter(subdistrict=sub)
    assert not incidents.exclude(status="closed").exists()
    assert DispatchOrder.objects.filter(incident__subdistrict=sub).count() == sum(len(i.orders) for i in demo.incidents)
    assert Handover.objects.filter(incident__subdistrict=sub).count() == sum(len(i.handovers) for i in demo.incidents)
    assert CallbackTask.objects.filter(incident__subdistrict=sub).count() == sum(len(i.callbacks) for i in demo.incidents)
    orders = {o.pk: o for o in DispatchOrder.objects.filter(incident__subdistrict=sub)}
    for e in IncidentEvent.objects.filter(subdistrict=sub, kind__in=["dispatched", "arrived"])[:2000]:
        order = orders[e.data["order"]]
        assert order.incident_id == e.incident_id and order.member_id == e.data["member"]
    parties = dict(Party.objects.filter(incident__subdistrict=sub).values_list("id", "incident_id"))
    assert len(parties) == sum(len(i.parties) for i in demo.incidents)
    for e in IncidentEvent.objects.filter(subdistrict=sub, kind="party_registered"):
        assert parties[e.data["party"]] == e.incident_id
    handovers = {h.pk: h for h in Handover.objects.filter(incident__subdistrict=sub)}
    # Hand-overs arrive as generated: both deadlines, and the office's result when completed.
    records = {(i.number, h.unit_code): h for i in demo.incidents for h in i.handovers}
    columns = ("state", "accept_by", "deadline", "decided_at", "completed_at", "result")
    for row in Handover.objects.filter(incident__subdistrict=sub).values("incident__number", "unit__code", *columns):
        h = records[(row["incident__number"], row["unit__code"])]
        assert {c: row[c] for c in columns} == {c: getattr(h, c) for c in columns}
    for e in IncidentEvent.objects.filter(subdistrict=sub, kind="transfer_accepted"):
        assert handovers[e.data["handover"]].unit_id == e.data["unit"]
    # Events of a case come in time order of their ids.
    assert scalar("""
        SELECT count(*) FROM (SELECT at < lag(at) OVER (PARTITION BY incident_id ORDER BY id) AS back
                              FROM incidents_incidentevent WHERE subdistrict_id = %s) x WHERE back""", [sub.pk]) == 0


def test_orders_and_alarms_of_the_history(demo, sub):
    orders = DispatchOrder.objects.filter(incident__subdistrict=sub)
    # Nothing live: the SLA clock has nothing to escalate in the history.
    assert not orders.filter(state__in=["dispatched", "accepted"]).exists()
    stood_down = orders.filter(state="stood_down")  # the no-shows, once the case moved on without them
    assert stood_down.exists() and not stood_down.filter(stood_down_at__isnull=True).exists()
    assert not stood_down.filter(stand_down_reason="").exists()
    assert not orders.filter(arrived_at__lt=F("dispatched_at")).exists()
    assert not orders.filter(accepted_at__lt=F("dispatched_at")).exists()
    late = orders.filter(arrived_at__gt=F("arrive_by"))
    assert late.exists() and not late.exclude(overdue_escalated_at=F("arrive_by")).exists()
    assert orders.filter(state="declined").exclude(decline_reason="").count() == orders.filter(state="declined").count()
    # The records' columns arrive as they were generated.
    records = {(i.number, o.member_code): o for i in demo.incidents for o in i.orders}
    fields = ("state", "arrive_by", "accepted_at", "arrived_at", "declined_at", "decline_reason", "reason",
              "travel_seconds", "arrival_distance_m", "arrival_flagged", "overdue_escalated_at", "stood_down_at",
              "stand_down_reason")
    for row in orders.values("incident__number", "member__code", "rule_id", "level", *fields):
        o = records[(row["incident__number"], row["member__code"])]
        assert {f: row[f] for f in fields} == {f: getattr(o, f) for f in fields}
        assert row["rule_id"] is None and row["level"] == 0
    # Alarms: exactly one per escalated order, and one per major case, all acknowledged.
    alarms = Alarm.objects.filter(incident__subdistrict=sub)
    assert alarms.count() == sum(len(i.alarms) for i in demo.incidents)
    assert not alarms.exclude(subdistrict=sub).exists()
    assert not alarms.exclude(state="acknowledged").exists()
    overdue = alarms.filter(kind="arrival_overdue")
    assert sorted(overdue.values_list("order_id", flat=True)) == sorted(
        orders.filter(overdue_escalated_at__isnull=False).values_list("id", flat=True))
    assert overdue.filter(raised_at=F("order__arrive_by"), due_at=F("order__arrive_by"),
                          incident_id=F("order__incident_id")).count() == overdue.count()
    # Told: the late member's unit leader and the member themself.
    leaders = set(Member.objects.filter(subdistrict=sub, roles__contains=["unit_leader"]).values_list("id", flat=True))
    for notified, member in overdue.values_list("notified", "order__member_id"):
        assert member in notified and set(notified) <= leaders | {member}
    majors = Incident.objects.filter(subdistrict=sub, major=True)
    assert majors.exists() and not majors.filter(major_notified_at__isnull=True).exists()
    assert not Incident.objects.filter(subdistrict=sub, major=False, major_notified_at__isnull=False).exists()
    major_alarms = alarms.filter(kind="major_incident")
    assert sorted(major_alarms.values_list("incident_id", flat=True)) == sorted(majors.values_list("id", flat=True))
    assert major_alarms.filter(order__isnull=True, raised_at=F("incident__major_notified_at")).count() == majors.count()
    # The timeline refers to them.
    alarm_incident = dict(alarms.values_list("id", "incident_id"))
    order_of = {o.pk: o for o in orders}
    alarm_notified = dict(alarms.values_list("id", "notified"))
    for e in IncidentEvent.objects.filter(subdistrict=sub, kind__in=["alarm", "alarm_handled"]):
        assert alarm_incident[e.data["alarm"]] == e.incident_id
        if "order" in e.data:
            assert order_of[e.data["order"]].member_id == e.data["member"]
        if e.kind == "alarm":
            assert e.data["notified"] == alarm_notified[e.data["alarm"]] and e.data["alarm_state"] == "open"
    for e in IncidentEvent.objects.filter(subdistrict=sub, kind__in=["order_accepted", "order_declined"]):
        order = order_of[e.data["order"]]
        assert order.incident_id == e.incident_id and order.member_id == e.data["member"]
        assert e.at == (order.accepted_at if e.kind == "order_accepted" else order.declined_at)
    assert IncidentEvent.objects.filter(subdistrict=sub, kind="alarm").count() == alarms.count()


def test_someone_is_on_duty_at_the_anchor(sub):
    instant = datetime.combine(DEMO_ANCHOR, time(3, 0), tzinfo=SHANGHAI)
    on = DutyShift.objects.filter(member__subdistrict=sub, starts_at__lte=instant, ends_at__gt=instant)
    assert on.filter(member__force="police").count() >= 44
    assert on.filter(member__force="command_room").count() >= 4


def test_topping_up_rosters_is_idempotent(sub):
    later = DEMO_ANCHOR + timedelta(days=40)
    added = demo_top_up_rosters(subdistrict=sub, today=later)
    assert added > 1000
    assert demo_top_up_rosters(subdistrict=sub, today=later) == 0
    noon = datetime.combine(later, time(12, 0), tzinfo=SHANGHAI)
    assert DutyShift.objects.filter(member__subdistrict=sub, member__force="police", starts_at__lte=noon,
                                    ends_at__gt=noon).count() >= 44
    # Overlapping windows add only what is missing.
    assert demo_top_up_rosters(subdistrict=sub, today=later + timedelta(days=3)) < added


def test_seed_demo_twice_changes_nothing(sub, tmp_path):
    creds = tmp_path / "logins" / "demo.txt"
    out = StringIO()
    call_command("seed_demo", anchor=DEMO_ANCHOR.isoformat(), history_days=DEMO_HISTORY_DAYS,
                 credentials_file=creds, stdout=out)
    assert "loaded nothing" in out.getvalue()
    after_first = demo_counts()
    content = creds.read_text()
    assert content.startswith("#")
    logins = read_credentials(creds)
    assert {role for role, _ in logins.values()} == {role for role, _, _ in DEMO_USERS}
    assert set(Group.objects.values_list("name", flat=True)) >= set(UserRole.values)
    out = StringIO()
    call_command("seed_demo", anchor=DEMO_ANCHOR.isoformat(), history_days=DEMO_HISTORY_DAYS,
                 credentials_file=creds, stdout=out)
    assert "loaded nothing" in out.getvalue() and "0 shifts" in out.getvalue()
    assert len(out.getvalue().strip().splitlines()) == 1
    assert demo_counts() == after_first
    assert creds.read_text() == content
    User = get_user_model()
    for username, (role, password) in logins.items():
        user = User.objects.get(username=username)
        assert user.check_password(password)
        assert user.groups.filter(name=role).exists()
    responder = Member.objects.get(user__username="responder")
    assert responder.force == "grid_worker" and responder.subdistrict_id == sub.pk


def test_a_lost_password_is_reset_and_written_again(sub, tmp_path):
    creds = tmp_path / "demo.txt"
    seed_demo(credentials_file=creds, today=DEMO_ANCHOR)
    kept = read_credentials(creds)
    lines = [ln for ln in creds.read_text().splitlines(keepends=True) if "\tplanner\t" not in ln]
    creds.write_text("".join(lines))
    outcome = seed_demo(credentials_file=creds, today=DEMO_ANCHOR)
    assert outcome.users_changed == ["planner"]
    again = read_credentials(creds)
    assert again["command"] == kept["command"] and again["planner"] != kept["planner"]
    assert get_user_model().objects.get(username="planner").check_password(again["planner"][1])


def test_the_credentials_file_wins_over_a_password_changed_elsewhere(sub, tmp_path):
    creds = tmp_path / "demo.txt"
    seed_demo(credentials_file=creds, today=DEMO_ANCHOR)
    user = get_user_model().objects.get(username="leader")
    user.set_password("changed-in-admin")
    user.save()
    assert seed_demo(credentials_file=creds, today=DEMO_ANCHOR).users_changed == ["leader"]
    user.refresh_from_db()
    assert user.check_password(read_credentials(creds)["leader"][1])
    assert seed_demo(credentials_file=creds, today=DEMO_ANCHOR).users_changed == []


def test_reset_loads_the_same_again(demo, sub, tmp_path):
    before = demo_counts()
    alarms = Alarm.objects.filter(subdistrict=sub).count()
    assert alarms > 0
    numbers = set(Incident.objects.filter(subdistrict=sub).values_list("number", flat=True))
    outcome = seed_demo(anchor=DEMO_ANCHOR, history_days=DEMO_HISTORY_DAYS, reset=True,
                        credentials_file=tmp_path / "demo.txt", today=DEMO_ANCHOR)
    assert outcome.loaded
    assert demo_counts() == before
    new_sub = Subdistrict.objects.get(code=DEMO_CODE)
    assert Alarm.objects.count() == Alarm.objects.filter(subdistrict=new_sub).count() == alarms
    assert set(Incident.objects.filter(subdistrict=new_sub).values_list("number", flat=True)) == numbers
    first = min(numbers)
    assert date(int(first[:4]), int(first[4:6]), int(first[6:8])) == DEMO_ANCHOR - timedelta(days=DEMO_HISTORY_DAYS)


def test_categories_channels_and_keyword_rules(demo):
    from fixtures.category_rules import CATEGORY_RULES
    from incidents.models import Category, CategoryRule, Channel

    assert set(Category.objects.values_list("code", flat=True)) >= {c.code for c in demo.categories}
    assert set(Channel.objects.values_list("code", flat=True)) >= {c.code for c in demo.channels}
    assert CategoryRule.objects.count() >= sum(len(rules) for rules in CATEGORY_RULES.values())
    assert CategoryRule.objects.filter(keyword="讨薪", category__code="labour_dispute").exists()
