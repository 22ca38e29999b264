"""The weekly meeting's agenda (reports/agenda.py) on a small hand-made world: the hot issues (DBSCAN
per category on a planted cluster), the cases handed over on site still open, the major unstable
factors, the assigned tasks overdue first, the overdue rectifications; a decision recorded through
the off-site intake; the page, its API and its Excel file; roles (403), sub-district (404) and a bad
week (400)."""

from datetime import datetime, timedelta
from io import BytesIO

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils import timezone, translation
from openpyxl import load_workbook
from rest_framework.test import APIClient

from config.roles import UserRole
from dispatch.models import Unit
from incidents.models import Category, Flow, Handover, Incident, IncidentEvent, Status
from reports import agenda as agenda_module
from reports.agenda import weekly_agenda
from reports.models import Interview
from reports.periods import week_param, week_period
from tests.factories import make_channels, make_user, make_world

pytestmark = pytest.mark.django_db

AGENDA_API = "/api/v1/reports/agenda/"
DECISIONS_API = "/api/v1/reports/agenda/decisions/"
PAGE = "/reports/agenda/"

# The planted cluster's centre, inside the test world's square (120.49–120.51, 30.49–30.51). At
# 30.5°N 0.0001° of longitude is about 9.6 m and of latitude about 11.1 m.
CX, CY = 120.495, 30.495


@pytest.fixture
def world():
    w = make_world("AG")
    w.update(make_channels())
    w["other_category"] = Category.objects.create(code="ag_noise", name="噪声扰民", name_en="noise",
                                                  scope=Category.Scope.NON_POLICE, statistic_group="public_order")
    w["mass"] = Category.objects.get_or_create(code="mass_incident", defaults={
        "name": "群体性事件", "name_en": "mass incident", "scope": Category.Scope.NON_POLICE,
        "statistic_group": "petition"})[0]
    w["office"] = Unit.objects.create(subdistrict=w["subdistrict"], code="AG-U2", name="城管中队",
                                      kind=Unit.Kind.URBAN_MANAGEMENT)
    # The week the meeting looks back at: the one before the current week.
    w["period"] = week_period(timezone.localdate() - timedelta(days=7))
    return w


_numbers = iter(range(1, 100000))


def case(world, *, at: datetime, category=None, lon: float | None = CX, lat: float | None = CY, channel=None,
         status: str = Status.CLOSED, flow: str = Flow.ON_SITE, **fields) -> Incident:
    """A case written as the history has it (tests may; the services never write rows directly)."""
    closed = status == Status.CLOSED
    return Incident.objects.create(
        subdistrict=world["subdistrict"], number=f"AG-{next(_numbers):05d}", channel=channel or world["channel"],
        category=category or world["category"], flow=flow, status=status, description="测试",
        location=Point(lon, lat, srid=4326) if lon is not None else None, grid=world["grids"][0],
        community=world["community"], reported_at=at,
        resolved_at=fields.pop("resolved_at", at + timedelta(hours=1) if closed else None),
        closed_at=at + timedelta(hours=2) if closed else None, **fields)


def in_week(world, day: int, hour: int = 10) -> datetime:
    return world["period"].start + timedelta(days=day, hours=hour)


# --- hot issues ---------------------------------------------------------------------------------------

def test_a_planted_cluster_is_one_hot_issue_and_another_category_is_not_merged_into_it(world):
    period = world["period"]
    # Four cases of one category within 100 m, over the window, one of them in the week.
    planted = [
        case(world, at=in_week(world, 2), lon=CX, lat=CY, address_text="文一路1号"),
        case(world, at=in_week(world, -6), lon=CX + 0.0003, lat=CY),  # ~29 m east
        case(world, at=in_week(world, -13), lon=CX, lat=CY + 0.0003),  # ~33 m north
        case(world, at=in_week(world, -20), lon=CX + 0.0004, lat=CY + 0.0004),  # ~55 m north-east
    ]
    # Scattered noise of the same category, each at least 600 m from the others.
    for k, (dx, dy) in enumerate([(0.008, 0.0), (0.0, 0.008), (0.008, 0.008), (-0.004, 0.012)]):
        case(world, at=in_week(world, k % 7), lon=CX + dx, lat=CY + dy)
    # The same place, another category: its own cluster, never merged into the first.
    others = [case(world, at=in_week(world, d), category=world["other_category"], lon=CX + 0.0001 * d, lat=CY)
              for d in (0, 1, 3)]
    # Of the planted category too, but outside the window (five weeks before): not counted.
    case(world, at=in_week(world, -35), lon=CX + 0.0001, lat=CY + 0.0001)
    # A merged duplicate at the spot is the same event as its case: left out.
    dup = case(world, at=in_week(world, 1), lon=CX, lat=CY, status=Status.MERGED, merged_into=planted[0],
               resolved_at=None)
    assert dup.merged_into_id

    agenda = weekly_agenda(subdistrict=world["subdistrict"], period=period)

    spots = {spot.category_code: spot for spot in agenda.hot_spots}
    assert len(agenda.hot_spots) == 2
    spot = spots[world["category"].code]
    assert spot.count == 4 and spot.in_week == 1
    assert [c.id for c in spot.cases] == [p.pk for p in sorted(planted, key=lambda p: p.reported_at)]
    assert spot.first_at == planted[3].reported_at and spot.last_at == planted[0].reported_at
    assert spot.addresses == ["文一路1号"]
    assert 0 < spot.radius_m < 60
    assert abs(spot.lon - CX) < 0.0005 and abs(spot.lat - CY) < 0.0005
    assert spot.cases[0].url == f"/incidents/{planted[3].pk}/"
    other = spots[world["other_category"].code]
    assert other.count == 3 and {c.id for c in other.cases} == {o.pk for o in others}
    assert agenda.hot_spots[0] is spot  # most cases first
    assert agenda.counts["hot_spots"] == 2 and agenda.counts["hot_spot_cases"] == 7


def test_a_cluster_with_no_case_in_the_week_is_not_this_weeks_hot_issue(world):
    for d, dx in ((-8, 0.0), (-9, 0.0002), (-10, 0.0004)):
        case(world, at=in_week(world, d), lon=CX + dx, lat=CY)
    assert weekly_agenda(subdistrict=world["subdistrict"], period=world["period"]).hot_spots == []


# --- handed over on site --------------------------------------------------------------------------------

def handover(world, incident, *, state, accept_by=None, deadline=None, kind=Handover.Kind.TRANSFER,
             at=None, **fields):
    return Handover.objects.create(incident=incident, unit=world["unit"], kind=kind, state=state, reason="转办",
                                   created_at=at or incident.reported_at + timedelta(hours=1), accept_by=accept_by,
                                   deadline=deadline, **fields)


def test_cases_handed_over_on_site_and_still_open_overdue_first(world):
    now = timezone.now()
    on_time = case(world, at=in_week(world, 1), status=Status.IN_PROGRESS)
    handover(world, on_time, state=Handover.State.ACCEPTED, deadline=now + timedelta(days=2))
    late = case(world, at=in_week(world, 3), status=Status.TRANSFERRED)
    late_part = handover(world, late, state=Handover.State.PENDING, accept_by=now - timedelta(hours=1))
    # Before the week and still open: on the agenda too.
    older = case(world, at=in_week(world, -10), status=Status.IN_PROGRESS)
    handover(world, older, state=Handover.State.ACCEPTED, deadline=now + timedelta(days=1))
    # Not on it: a completed part, a returned one, a closed case, an assignment form's part.
    done = case(world, at=in_week(world, 2), status=Status.COMPLETED)
    handover(world, done, state=Handover.State.COMPLETED, completed_at=now, result="已处理")
    returned = case(world, at=in_week(world, 2), status=Status.REPORTED)
    handover(world, returned, state=Handover.State.RETURNED, return_reason="不属本单位")
    closed = case(world, at=in_week(world, 2), status=Status.CLOSED)
    handover(world, closed, state=Handover.State.ACCEPTED)
    form = case(world, at=in_week(world, 2), status=Status.ASSIGNED, flow=Flow.OFF_SITE, channel=world["joint"])
    handover(world, form, state=Handover.State.PENDING, kind=Handover.Kind.ASSIGNMENT)
    # Handed over after the week's end: the next meeting's.
    later = case(world, at=world["period"].end + timedelta(hours=1), status=Status.TRANSFERRED)
    handover(world, later, state=Handover.State.PENDING, at=world["period"].end + timedelta(hours=2))

    agenda = weekly_agenda(subdistrict=world["subdistrict"], period=world["period"], now=now)

    assert [h.case.id for h in agenda.handed_over] == [late.pk, older.pk, on_time.pk]
    first = agenda.handed_over[0]
    assert first.overdue and first.handover == late_part.pk and first.unit == world["unit"].name
    assert not agenda.handed_over[1].overdue and not agenda.handed_over[2].overdue
    assert agenda.counts["handed_over"] == 3 and agenda.counts["handed_over_overdue"] == 1


# --- major unstable factors ------------------------------------------------------------------------------

def test_major_mass_and_sensitive_cases_of_the_week_and_those_still_open(world):
    sensitive = Category.objects.get_or_create(code="major_sensitive", defaults={
        "name": "重大敏感警情", "name_en": "major sensitive incident", "scope": Category.Scope.NON_POLICE,
        "statistic_group": "petition", "major_by_default": True})[0]
    major = case(world, at=in_week(world, 1), major=True)  # finished, in the week
    mass_open = case(world, at=in_week(world, -20), category=world["mass"], status=Status.ARRIVED)  # before, open
    sensitive_week = case(world, at=in_week(world, 4), category=sensitive, major=True)
    case(world, at=in_week(world, -20), category=world["mass"])  # before the week and finished: not listed
    case(world, at=in_week(world, 2))  # an ordinary case
    case(world, at=world["period"].end + timedelta(hours=3), major=True, status=Status.NEW)  # after the week

    agenda = weekly_agenda(subdistrict=world["subdistrict"], period=world["period"])

    rows = {u.case.id: u for u in agenda.unstable}
    assert set(rows) == {major.pk, mass_open.pk, sensitive_week.pk}
    assert agenda.unstable[0].case.id == mass_open.pk  # not finished first
    assert rows[mass_open.pk].kinds == ["mass"] and not rows[mass_open.pk].in_week and not rows[mass_open.pk].finished
    assert rows[major.pk].kinds == ["major"] and rows[major.pk].in_week and rows[major.pk].finished
    assert rows[sensitive_week.pk].kinds == ["major", "sensitive"]
    assert agenda.counts["unstable"] == 3 and agenda.counts["unstable_unfinished"] == 1


# --- assigned tasks ---------------------------------------------------------------------------------------

def form(world, *, at, status, deadline=None, **fields):
    return case(world, at=at, status=status, flow=Flow.OFF_SITE, channel=world["joint"], lon=None, lat=None,
                deadline=deadline, **fields)


def test_assigned_tasks_overdue_first_then_by_deadline_then_finished(world):
    now = timezone.now()
    period = world["period"]
    on_time = form(world, at=in_week(world, 1), status=Status.IN_PROGRESS, deadline=now + timedelta(days=3))
    handover(world, on_time, state=Handover.State.ACCEPTED, kind=Handover.Kind.ASSIGNMENT,
             deadline=now + timedelta(days=3))
    # No deadline of its own: the office's part's result deadline, passed.
    late_part = form(world, at=in_week(world, -14), status=Status.IN_PROGRESS)
    handover(world, late_part, state=Handover.State.ACCEPTED, kind=Handover.Kind.ASSIGNMENT,
             deadline=now - timedelta(days=1))
    very_late = form(world, at=in_week(world, -30), status=Status.ASSIGNED, deadline=now - timedelta(days=5))
    finished = form(world, at=in_week(world, -3), status=Status.COMPLETED, resolved_at=in_week(world, 3),
                    deadline=in_week(world, 2))
    handover(world, finished, state=Handover.State.COMPLETED, kind=Handover.Kind.ASSIGNMENT,
             completed_at=in_week(world, 3), result="已办结")
    before = form(world, at=in_week(world, -20), status=Status.CLOSED, resolved_at=in_week(world, -10))
    handover(world, before, state=Handover.State.COMPLETED, kind=Handover.Kind.ASSIGNMENT,
             completed_at=in_week(world, -10), result="已办结")  # finished before the week
    case(world, at=in_week(world, 1), status=Status.NEW)  # a hotline case: not a task

    agenda = weekly_agenda(subdistrict=world["subdistrict"], period=period, now=now)

    assert [t.case.id for t in agenda.tasks] == [very_late.pk, late_part.pk, on_time.pk, finished.pk]
    very, part, fine, done = agenda.tasks
    assert very.overdue and very.overdue_days == 5
    assert part.overdue and part.deadline is not None and part.offices[0].overdue
    assert not fine.overdue and fine.finished_at is None
    assert done.finished_at == in_week(world, 3) and done.finished_late and not done.overdue
    assert agenda.counts["tasks_overdue"] == 2 and agenda.counts["tasks_finished_in_week"] == 1


# --- overdue rectifications ---------------------------------------------------------------------------------

def test_interviews_past_their_deadline_and_not_rectified_are_on_the_agenda(world):
    now = timezone.now()
    base = {"subdistrict": world["subdistrict"], "reason": "网格长到场率低", "findings": "未按时到场",
            "requirements": "整改", "held_at": now - timedelta(days=20), "created_at": now - timedelta(days=20)}
    overdue = Interview.objects.create(unit=world["unit"], deadline=now - timedelta(days=3), **base)
    Interview.objects.create(community=world["community"], deadline=now + timedelta(days=3), **base)
    Interview.objects.create(unit=world["unit"], deadline=now - timedelta(days=3), state=Interview.State.RECTIFIED,
                             rectified_at=now - timedelta(days=4), rectification_note="已整改", **base)

    agenda = weekly_agenda(subdistrict=world["subdistrict"], period=world["period"], now=now)

    assert [(r.interview, r.target, r.overdue_days) for r in agenda.rectifications] == [
        (overdue.pk, world["unit"].name, 3)]


# --- the meeting's decisions -----------------------------------------------------------------------------------

def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_a_decision_becomes_an_assignment_form_through_the_intake(world):
    commander = make_user("ag-command", UserRole.COMMAND_ROOM)
    period = world["period"]
    deadline = timezone.now() + timedelta(days=7)
    body = {"category": world["category"].code, "description": "例会决定：整治文一路占道经营",
            "offices": [world["office"].pk], "deadline": deadline.isoformat()}
    response = api(commander).post(f"{DECISIONS_API}?subdistrict=AG&week={period.key}", body, format="json")
    assert response.status_code == 201, response.content
    decision = response.json()
    assert decision["seq"] == 1
    incident = Incident.objects.get(pk=decision["task"]["case"]["id"])
    assert incident.channel == world["joint"] and incident.flow == Flow.OFF_SITE
    assert incident.status == Status.ASSIGNED and incident.external_id == f"MEETING-AG-{period.key}-01"
    assert incident.deadline == deadline and incident.created_by == commander
    created = IncidentEvent.objects.get(incident=incident, kind=IncidentEvent.Kind.CREATED)
    assert created.note == body["description"] and created.data["offices"] == [world["office"].pk]
    part = Handover.objects.get(incident=incident)
    assert part.unit == world["office"] and part.kind == Handover.Kind.ASSIGNMENT and part.deadline == deadline

    again = api(commander).post(f"{DECISIONS_API}?subdistrict=AG&week={period.key}",
                                {**body, "description": "例会决定：第二项"}, format="json")
    assert again.status_code == 201 and again.json()["seq"] == 2
    agenda = weekly_agenda(subdistrict=world["subdistrict"], period=period)
    assert [d.seq for d in agenda.decisions] == [1, 2]
    assert agenda.decisions[0].task.case.id == incident.pk and agenda.decisions[0].task.meeting == period.key
    # Another week's meeting numbers its own decisions.
    assert weekly_agenda(subdistrict=world["subdistrict"], period=period.previous()).decisions == []


def test_a_decision_is_refused_with_a_reason_and_writes_nothing(world):
    commander = make_user("ag-command", UserRole.COMMAND_ROOM)
    other = make_world("AX")
    week = world["period"].key
    client = api(commander)
    with translation.override("en"):
        refused = client.post(f"{DECISIONS_API}?subdistrict=AG&week={week}",
                              {"category": world["category"].code, "description": "x", "offices": [other["unit"].pk]},
                              format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400 and refused.json()["detail"] == "That unit belongs to another sub-district."
    assert client.post(f"{DECISIONS_API}?subdistrict=AG&week={week}",
                       {"category": world["category"].code, "description": " ", "offices": [world["office"].pk]},
                       format="json").status_code == 400
    assert not Incident.objects.exists()


@pytest.mark.parametrize("role", [UserRole.LEADER, UserRole.DISPATCHER, UserRole.CALL_TAKER])
def test_only_the_command_room_records_decisions(world, role):
    response = api(make_user("ag-" + role, role)).post(
        f"{DECISIONS_API}?subdistrict=AG", {"category": world["category"].code, "description": "决定",
                                            "offices": [world["office"].pk]}, format="json")
    assert response.status_code == 403 and not Incident.objects.exists()


def test_the_decision_form_on_the_page_records_through_the_intake(client, world):
    commander = make_user("ag-command", UserRole.COMMAND_ROOM)
    client.force_login(commander)
    week = world["period"].key
    page = client.get(PAGE, {"subdistrict": "AG", "week": week})
    assert page.status_code == 200 and 'data-testid="decision-form"' in page.text
    response = client.post(f"/reports/agenda/decisions/?subdistrict=AG&week={week}",
                           {"category": world["category"].code, "description": "整治占道",
                            "offices": [str(world["office"].pk)]})
    assert response.status_code == 302 and response["Location"].startswith(f"{PAGE}?subdistrict=AG&week={week}")
    incident = Incident.objects.get()
    assert incident.external_id == f"MEETING-AG-{week}-01"
    shown = client.get(response["Location"])
    assert f'href="/incidents/{incident.pk}/"' in shown.text and 'data-testid="decision-row"' in shown.text
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    bad = client.post(f"/reports/agenda/decisions/?subdistrict=AG&week={week}",
                      {"category": "nope", "description": "整治占道", "offices": [str(world["office"].pk)]})
    assert bad.status_code == 400 and "Choose the category." in bad.text
    assert Incident.objects.count() == 1
    leader = make_user("ag-leader", UserRole.LEADER)
    client.force_login(leader)
    assert 'data-testid="decision-form"' not in client.get(PAGE, {"subdistrict": "AG", "week": week}).text


# --- the page, the API, the Excel file --------------------------------------------------------------------------

def planted(world):
    """A cluster, a case handed over, a mass incident, an overdue task: one of each section."""
    for d, dx in ((1, 0.0), (2, 0.0002), (3, 0.0004)):
        case(world, at=in_week(world, d), lon=CX + dx, lat=CY)
    handed = case(world, at=in_week(world, 2), status=Status.TRANSFERRED, lon=CX + 0.01)
    handover(world, handed, state=Handover.State.PENDING, accept_by=timezone.now() - timedelta(hours=1))
    case(world, at=in_week(world, 5), category=world["mass"], lon=CX - 0.004)
    form(world, at=in_week(world, 1), status=Status.ASSIGNED, deadline=timezone.now() - timedelta(days=1))


def test_the_api_answers_the_agenda_with_its_counts_and_cases(world):
    planted(world)
    user = make_user("ag-leader", UserRole.LEADER)
    response = api(user).get(AGENDA_API, {"subdistrict": "AG", "week": world["period"].key})
    assert response.status_code == 200
    data = response.json()
    assert data["week"] == world["period"].key and data["subdistrict"] == "AG"
    assert data["parameters"]["hot_eps_m"] == agenda_module.HOT_EPS_M
    assert data["counts"]["hot_spots"] == 1 and data["hot_spots"][0]["count"] == 3
    assert data["counts"]["handed_over"] == 1 and data["handed_over"][0]["overdue"] is True
    assert data["counts"]["unstable"] == 1 and data["unstable"][0]["kinds"] == ["mass"]
    assert data["counts"]["tasks_overdue"] == 1
    assert data["hot_spots"][0]["cases"][0]["url"].startswith("/incidents/")


def test_the_page_shows_every_section_with_its_cases(client, world):
    planted(world)
    client.force_login(make_user("ag-dispatcher", UserRole.DISPATCHER))
    response = client.get(PAGE, {"subdistrict": "AG", "week": world["period"].key})
    assert response.status_code == 200
    text = response.text
    for section in ("hot", "handed", "unstable", "tasks", "rectifications", "decisions"):
        assert f'data-testid="section-{section}"' in text
    assert text.count('data-testid="hot-row"') == 1 and text.count('data-testid="task-row"') == 1
    assert 'data-testid="count-hot">1<' in text and 'data-testid="count-handed">1<' in text
    assert 'id="agenda-map-config"' in text and "gridlink/reports/agenda-map.js" in text
    assert 'data-testid="decision-form"' not in text  # a dispatcher reads
    assert f"/reports/agenda/excel/?subdistrict=AG&amp;week={world['period'].key}" in text


def test_the_excel_file_opens_and_holds_the_agendas_numbers(client, world):
    planted(world)
    client.force_login(make_user("ag-command", UserRole.COMMAND_ROOM))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/reports/agenda/excel/", {"subdistrict": "AG", "week": world["period"].key})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(BytesIO(response.content))
    with translation.override("en"):
        agenda = weekly_agenda(subdistrict=world["subdistrict"], period=world["period"])
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=3, values_only=True)}
    assert summary["Hot issues"] == agenda.counts["hot_spots"] == 1
    assert summary["Handed over on site, still open"] == 1 and summary["Assigned tasks"] == 1
    assert summary["Major unstable factors"] == 1
    hot = list(book["Hot issues"].iter_rows(min_row=3, values_only=True))
    assert len(hot) == 1 and hot[0][2] == 3 and hot[0][10] == "、".join(c.number for c in agenda.hot_spots[0].cases)
    tasks = list(book["Assigned tasks"].iter_rows(min_row=3, values_only=True))
    assert tasks[0][0] == agenda.tasks[0].case.number and tasks[0][5] == agenda.tasks[0].overdue_days
    assert book["Summary"]["A1"].value.startswith(f"Weekly meeting {world['period'].key}")


# --- access ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [UserRole.CALL_TAKER, UserRole.PLANNER, UserRole.RESPONDER, UserRole.DEPARTMENT])
def test_other_roles_are_refused(client, world, role):
    user = make_user("ag-" + role, role)
    assert api(user).get(AGENDA_API, {"subdistrict": "AG"}).status_code == 403
    client.force_login(user)
    assert client.get(PAGE, {"subdistrict": "AG"}).status_code == 403
    assert client.get("/reports/agenda/excel/", {"subdistrict": "AG"}).status_code == 403


def test_an_unknown_subdistrict_is_404(client, world):
    user = make_user("ag-leader", UserRole.LEADER)
    assert api(user).get(AGENDA_API, {"subdistrict": "NOPE"}).status_code == 404
    client.force_login(user)
    assert client.get(PAGE, {"subdistrict": "NOPE"}).status_code == 404


@pytest.mark.parametrize("week", ["2026-48", "2026-W54", "1999-W10", "２０２６-W01", "2026-W4"])
def test_a_bad_week_is_400_with_a_message(client, world, week):
    user = make_user("ag-leader", UserRole.LEADER)
    response = api(user).get(AGENDA_API, {"subdistrict": "AG", "week": week}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json() == {"detail": "The week must be written as YYYY-Www, for example 2026-W48.", "code": "week"}
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(PAGE, {"subdistrict": "AG", "week": week})
    assert page.status_code == 400 and "The week must be written as YYYY-Www" in page.text
    assert client.get("/reports/agenda/excel/", {"subdistrict": "AG", "week": week}).status_code == 400


def test_the_default_week_is_the_one_just_ended(world):
    user = make_user("ag-leader", UserRole.LEADER)
    data = api(user).get(AGENDA_API, {"subdistrict": "AG"}).json()
    assert data["week"] == week_param(None).key == world["period"].key
