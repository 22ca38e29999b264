"""The audit trail and the admin (issue 11, "Audit and personal data"): the admin shows lifecycle
records (incidents, orders, alarms, hand-overs, published grid versions) read only and changes them
only through actions that call the services (the timeline says so); every change of the
configuration is recorded by database triggers — with who and from which page when it came
through a request, as "database" when it did not — and shown beside the record."""

from datetime import datetime, timedelta

import pytest
from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, Permission, User
from django.contrib.gis.geos import Point
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent, UserEvent, UserGroupEvent
from config.roles import UserRole
from dispatch.models import Alarm, DispatchOrder, Member, MemberEvent
from geo.models import BoundaryVersion, Grid
from incidents.models import Handover, Incident, IncidentEvent, Status
from tests.factories import SHANGHAI, S, W, make_user

pytestmark = pytest.mark.django_db
SCENE = Point(W + 0.004, S + 0.004, srid=4326)


@pytest.fixture
def world(world, users):
    """The shared world with a dispatched case, its order, an alarm and a hand-over."""
    sub = world["subdistrict"]
    now = timezone.now()
    dispatcher = users.dispatcher
    incident = Incident.objects.create(
        subdistrict=sub, number="AU-00001", channel=world["channel"], category=world["category"],
        status=Status.DISPATCHED, description="小区门口两人因停车发生争执", address_text="幸福路 1 号",
        location=SCENE, grid=world["grids"][0], community=world["community"], reported_at=now - timedelta(minutes=10))
    order = DispatchOrder.objects.create(
        incident=incident, member=world["member"], method=DispatchOrder.Method.RADIO,
        dispatched_at=now - timedelta(minutes=5), dispatched_by=dispatcher, arrive_by=now + timedelta(minutes=25))
    alarm = Alarm.objects.create(subdistrict=sub, incident=incident, order=order, kind=Alarm.Kind.ARRIVAL_OVERDUE,
                                 due_at=now - timedelta(minutes=1), raised_at=now)
    handover = Handover.objects.create(incident=incident, unit=world["unit"], kind=Handover.Kind.ASSIGNMENT,
                                       reason="联席会商交办", created_at=now, created_by=dispatcher)
    return {**world, "incident": incident, "order": order, "alarm": alarm, "handover": handover}


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def run_action(client, model, action: str, objs, **form):
    """Post an admin action from the list; with `form`, answer its intermediate page."""
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    data = {"action": action, ACTION_CHECKBOX_NAME: [o.pk for o in objs]}
    if form:
        data |= {"confirm": "yes", **form}
    else:
        data["index"] = "0"
    return client.post(url, data, follow=True)


def levels(response) -> list[int]:
    return [m.level for m in response.context["messages"]]


# --- lifecycle records are read only ----------------------------------------------------------------

def test_the_admin_refuses_to_change_an_incidents_status_grid_and_location(admin_client, world):
    incident = world["incident"]
    page = admin_client.get(change_url(incident))
    assert page.status_code == 200
    for name in ("status", "grid", "location", "closed_at", "description"):
        assert f'name="{name}"'.encode() not in page.content  # shown, not as inputs
    assert b"location_map" in page.content  # the location on a map that cannot be edited

    answer = admin_client.post(change_url(incident), {
        "status": Status.CLOSED, "grid": world["grids"][1].pk, "location": "SRID=4326;POINT (120.5 30.5)",
        "closed_at_0": "2026-01-01", "closed_at_1": "10:00:00", "description": "改过"})
    assert answer.status_code == 403
    incident.refresh_from_db()
    assert (incident.status, incident.grid_id, incident.closed_at) == (Status.DISPATCHED, world["grids"][0].pk, None)
    assert incident.location.equals_exact(SCENE, 1e-9)
    assert admin_client.get(reverse("admin:incidents_incident_add")).status_code == 403
    assert admin_client.post(reverse("admin:incidents_incident_delete", args=[incident.pk]), {"post": "yes"}
                             ).status_code == 403


@pytest.mark.parametrize("key", ["order", "alarm", "handover"])
def test_orders_alarms_and_handovers_are_read_only(admin_client, world, key):
    obj = world[key]
    model = type(obj)
    before = model.objects.filter(pk=obj.pk).values().get()
    assert admin_client.get(change_url(obj)).status_code == 200
    assert b'name="state"' not in admin_client.get(change_url(obj)).content
    assert admin_client.post(change_url(obj), {"state": "stood_down", "note": "x"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).values().get() == before
    add = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
    assert admin_client.get(add).status_code == 403


def test_grid_versions_and_grids_are_read_only_in_the_admin_which_points_to_the_planners_page(admin_client, world):
    version, grid = world["version"], world["grids"][0]
    draft = BoundaryVersion.objects.create(subdistrict=world["subdistrict"], number=2, label="草稿")
    for obj in (version, grid, draft):
        page = admin_client.get(change_url(obj))
        assert page.status_code == 200 and reverse("planner_page:planner").encode() in page.content
        assert b'name="label"' not in page.content and b'name="code"' not in page.content
    assert admin_client.post(change_url(version), {"label": "改", "status": "draft"}).status_code == 403
    assert admin_client.post(change_url(grid), {"code": "X", "name": "改"}).status_code == 403
    assert admin_client.post(change_url(draft), {"label": "改", "status": "published"}).status_code == 403
    listed = admin_client.get(reverse("admin:geo_boundaryversion_changelist"))
    assert listed.status_code == 200 and b'value="publish"' not in listed.content  # publishing: the page's
    version.refresh_from_db()
    grid.refresh_from_db()
    draft.refresh_from_db()
    assert (version.status, version.label, grid.name) == (BoundaryVersion.Status.PUBLISHED, "", "第一网格")
    assert (draft.label, draft.status) == ("草稿", BoundaryVersion.Status.DRAFT)


def test_the_database_refuses_to_change_a_published_version_or_its_grids(world):
    version, grid = world["version"], world["grids"][1]  # the east grid: no incident holds it
    for change in (lambda: Grid.objects.filter(pk=grid.pk).update(name="改"),
                   lambda: Grid.objects.filter(pk=grid.pk).delete(),
                   lambda: BoundaryVersion.objects.filter(pk=version.pk).update(label="改"),
                   lambda: BoundaryVersion.objects.filter(pk=version.pk).update(status="draft")):
        with pytest.raises(DatabaseError, match="published"), transaction.atomic():
            change()
    # A draft's rows are not frozen; a grid added to a published version (how loaders write one) is allowed.
    draft = BoundaryVersion.objects.create(subdistrict=world["subdistrict"], number=2)
    BoundaryVersion.objects.filter(pk=draft.pk).update(label="改")
    Grid.objects.create(version=version, subdistrict=world["subdistrict"], community=world["community"],
                        code="T1-G3", name="新增", boundary=grid.boundary)


# --- actions call the services -----------------------------------------------------------------------

def test_close_as_invalid_asks_a_reason_and_goes_through_the_service(admin_client, world):
    incident = world["incident"]
    asked = run_action(admin_client, Incident, "move_cancel", [incident])
    assert asked.status_code == 200 and b'name="text"' in asked.content  # the intermediate page
    incident.refresh_from_db()
    assert incident.status == Status.DISPATCHED

    done = run_action(admin_client, Incident, "move_cancel", [incident], text="重复报警，已核实无事")
    assert levels(done) == [messages.SUCCESS]
    incident.refresh_from_db()
    assert incident.status == Status.CLOSED and incident.closed_at is not None
    event = IncidentEvent.objects.get(incident=incident, kind=IncidentEvent.Kind.STATUS_CHANGED, to_status=Status.CLOSED)
    assert event.actor.username == "admin" and event.note == "重复报警，已核实无事"
    world["order"].refresh_from_db()
    assert world["order"].state == DispatchOrder.State.STOOD_DOWN  # the service's own consequences


def test_a_refused_move_is_an_error_message_and_changes_nothing(admin_client, world):
    incident = world["incident"]
    answer = run_action(admin_client, Incident, "move_close", [incident])  # only a fed-back case closes
    assert levels(answer) == [messages.ERROR]
    incident.refresh_from_db()
    assert incident.status == Status.DISPATCHED
    assert not IncidentEvent.objects.filter(incident=incident, kind=IncidentEvent.Kind.STATUS_CHANGED).exists()


def test_order_stand_down_and_alarm_acknowledge_actions(admin_client, world):
    order, alarm = world["order"], world["alarm"]
    run_action(admin_client, DispatchOrder, "stand_down", [order], text="已另派人员")
    order.refresh_from_db()
    assert (order.state, order.stand_down_reason, order.stood_down_by.username) == (
        DispatchOrder.State.STOOD_DOWN, "已另派人员", "admin")
    assert IncidentEvent.objects.filter(incident=world["incident"], kind=IncidentEvent.Kind.ORDER_STOOD_DOWN).exists()
    alarm.refresh_from_db()
    assert alarm.state == Alarm.State.ACKNOWLEDGED  # settled by the stand-down

    again = run_action(admin_client, Alarm, "acknowledge", [alarm], text="已电话联系")
    assert levels(again) == [messages.ERROR]  # acknowledged already: the service says so


def test_actions_are_offered_to_the_command_room_only(client, world):
    planner = make_user("au-plan", UserRole.PLANNER)
    User.objects.filter(pk=planner.pk).update(is_staff=True)
    planner.user_permissions.add(*Permission.objects.filter(codename="view_incident"))
    client.force_login(planner)
    listed = client.get(reverse("admin:incidents_incident_changelist"))
    assert listed.status_code == 200 and b'value="move_cancel"' not in listed.content
    run_action(client, Incident, "move_cancel", [world["incident"]], text="无效")
    world["incident"].refresh_from_db()
    assert world["incident"].status == Status.DISPATCHED


# --- the trail ---------------------------------------------------------------------------------------

def member_form(member: Member, **changes) -> dict:
    data = {
        "subdistrict": member.subdistrict_id, "unit": member.unit_id, "user": "", "code": member.code,
        "name": member.name, "force": member.force, "roles": "", "phone": member.phone,
        "grids": [g.pk for g in member.grids.all()], "travel_mode": member.travel_mode,
        "home": member.home.geojson, "duty_post": "", "active": "on",
        "shifts-TOTAL_FORMS": "0", "shifts-INITIAL_FORMS": "0",
    }
    return data | changes


def test_a_member_edited_in_the_admin_is_on_record_with_who_and_what(admin_client, world):
    member = world["member"]
    answer = admin_client.post(change_url(member), member_form(member, phone="13900000009"))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    member.refresh_from_db()
    assert member.phone == "13900000009"

    event = MemberEvent.objects.filter(pgh_obj=member, pgh_label="update").get()
    admin_user = User.objects.get(username="admin")
    assert event.pgh_context.metadata["user"] == admin_user.pk
    assert event.pgh_context.metadata["url"] == change_url(member)
    (record,) = AuditEvent.objects.tracks(member).filter(pgh_label="update")
    assert record.pgh_diff == {"phone": ["13800000001", "13900000009"]}
    assert record.user_id == admin_user.pk

    page = admin_client.get(change_url(member)).content.decode()
    history = page[page.index('class="audit-history"'):]
    assert "13800000001 → 13900000009" in history and "admin" in history


def test_a_member_changed_by_raw_sql_is_on_record_as_the_database(admin_client, world):
    member = world["member"]
    with connection.cursor() as cur:
        cur.execute("UPDATE dispatch_member SET name = %s WHERE id = %s", ["张伟民", member.pk])
    (record,) = AuditEvent.objects.tracks(member).filter(pgh_label="update")
    assert record.pgh_diff == {"name": ["张伟", "张伟民"]} and record.user_id is None and record.pgh_context is None
    page = admin_client.get(change_url(member)).content.decode()
    assert "张伟 → 张伟民" in page[page.index('class="audit-history"'):]


def test_shifts_grids_and_a_bulk_update_are_on_record(world):
    member = world["member"]
    member.grids.add(world["grids"][1])
    member.shifts.create(starts_at=datetime(2027, 1, 1, 8, tzinfo=SHANGHAI), ends_at=datetime(2027, 1, 1, 20, tzinfo=SHANGHAI))
    Member.objects.filter(pk=member.pk).update(active=False)
    labels = sorted((e.pgh_model, e.pgh_label) for e in AuditEvent.objects.references(member)
                    .across("dispatch.MemberEvent", "dispatch.DutyShiftEvent", "dispatch.MemberGridEvent"))
    assert labels == [("dispatch.DutyShiftEvent", "insert"), ("dispatch.MemberEvent", "insert"),
                      ("dispatch.MemberEvent", "update"), ("dispatch.MemberGridEvent", "add"),
                      ("dispatch.MemberGridEvent", "add")]


def test_users_and_roles_are_on_record_without_the_password_hash():
    user = make_user("au-user", UserRole.DISPATCHER)
    user.set_password("a-new-secret-42")
    user.save()
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])  # a login is not a change of the user
    assert sorted(UserEvent.objects.filter(pgh_obj=user).values_list("pgh_label", flat=True)) == [
        "insert", "password_changed"]
    assert "password" not in {f.name for f in UserEvent._meta.fields}
    with connection.cursor() as cur:
        cur.execute("SELECT row_to_json(e)::text FROM audit_userevent e WHERE pgh_obj_id = %s", [user.pk])
        assert all("pbkdf2" not in row and user.password not in row for (row,) in cur.fetchall())
    group = Group.objects.get(name=UserRole.DISPATCHER)
    user.groups.remove(group)
    assert list(UserGroupEvent.objects.filter(user=user).order_by("pgh_id").values_list("pgh_label", "group_id")) == [
        ("add", group.pk), ("remove", group.pk)]


def test_the_trail_is_append_only(world):
    event = MemberEvent.objects.filter(pgh_obj=world["member"]).first()
    with pytest.raises(DatabaseError), transaction.atomic():
        MemberEvent.objects.filter(pk=event.pk).update(name="改")
    with pytest.raises(DatabaseError), transaction.atomic():
        MemberEvent.objects.filter(pk=event.pk).delete()


def test_the_change_records_list_renders(admin_client, world):
    member = world["member"]
    listed = admin_client.get(reverse("admin:audit_auditevent_changelist"),
                              {"obj": f"dispatch.Member:{member.pk}", "method": "tracks",
                               "back": "javascript:alert(1)"})
    assert listed.status_code == 200
    assert b"javascript:alert" not in listed.content
    assert b"#%d" % member.pk in listed.content
    admin_user = User.objects.get(username="admin")
    admin_client.post(reverse("admin:auth_user_change", args=[admin_user.pk]), {})  # invalid: changes nothing
    page = admin_client.get(reverse("admin:auth_user_change", args=[admin_user.pk]))
    assert page.status_code == 200 and b"audit-history" in page.content


def test_the_public_s_names_and_phones_are_masked_and_their_records_read_only_in_the_admin(admin_client, world):
    from incidents.models import CallbackTask, Party, Report

    incident = world["incident"]
    Incident.objects.filter(pk=incident.pk).update(caller_name="王小明", caller_phone="13912345678")
    report = Report.objects.create(incident=incident, channel=world["channel"], description="来电",
                                   caller_name="王小明", caller_phone="13912345678", received_at=timezone.now())
    party = Party.objects.create(incident=incident, name="李大力", phone="13700001111", role="party",
                                 registered_at=timezone.now())
    task = CallbackTask.objects.create(incident=incident, name="王小明", phone="13912345678",
                                       created_at=timezone.now())
    for obj in (incident, report, party, task):
        page = admin_client.get(change_url(obj))
        assert page.status_code == 200, obj
        assert b"13912345678" not in page.content and b"13700001111" not in page.content
        assert "王小明".encode() not in page.content and "李大力".encode() not in page.content
    assert b"139****5678" in admin_client.get(change_url(report)).content
    answer = admin_client.post(change_url(report), {"incident": world["incident"].pk, "caller_phone": "1"})
    assert answer.status_code == 403
    report.refresh_from_db()
    assert report.caller_phone == "13912345678"
    for model in (Report, Party, CallbackTask, IncidentEvent):
        assert admin_client.get(reverse(f"admin:incidents_{model._meta.model_name}_add")).status_code == 403
