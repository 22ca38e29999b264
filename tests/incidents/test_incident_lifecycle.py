"""Both flows of the plan through the services: every allowed transition, every refused one,
role checks, hand-overs accepted and returned, parties, feedback and reopening."""

import pytest
from django.contrib.gis.geos import Point

from config.errors import DomainError, Forbidden, TransitionRefused
from config.roles import UserRole
from dispatch.models import DispatchOrder, Unit
from dispatch.services import incident_transition
from incidents import flows
from incidents.models import CallbackTask, Flow, Handover, Incident, IncidentEvent, Party, Status
from incidents.services import (
    callback_complete,
    incident_intake,
    party_register,
    party_reveal,
)
from tests.factories import S, W, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.world(on_duty=True)]

VALID_ID = "11010519491231002X"  # the GB 11643 standard's own example


@pytest.fixture
def ctx(world, users):
    """The shared world on duty with its office and a police station, a user per role and a
    responder's login linked to nobody."""
    world.update(
        station=Unit.objects.create(subdistrict=world["subdistrict"], code="T1-PS", name="派出所",
                                    kind=Unit.Kind.POLICE_STATION),
        dispatcher=users.dispatcher, calltaker=users.call_taker, responder=users.responder,
        stranger=make_user("other", UserRole.RESPONDER), department=users.department, leader=users.leader,
        planner=users.planner,
    )
    return world


def take_call(ctx, **kw) -> Incident:
    fields = {"channel": ctx["hotline"], "category": ctx["category"], "description": "小区门口两人因停车发生争执",
              "actor": ctx["calltaker"], "location": Point(W + 0.004, S + 0.004, srid=4326),
              "caller_name": "李先生", "caller_phone": "13912345678"}
    fields.update(kw)
    return incident_intake(**fields).incident


def act(ctx, incident, action, who="dispatcher", **kw) -> Incident:
    return incident_transition(incident_id=incident.pk, action=action, actor=ctx[who], **kw)


def statuses(incident) -> list[str]:
    return list(incident.events.filter(kind=IncidentEvent.Kind.STATUS_CHANGED).values_list("to_status", flat=True))


def test_on_site_flow_from_call_to_closure(ctx):
    case = take_call(ctx)
    assert case.status == Status.NEW and case.grid == ctx["grids"][0]
    act(ctx, case, "dispatch", members=[ctx["member"]], method="radio")
    act(ctx, case, "arrive", who="responder")
    act(ctx, case, "report_on_site", who="responder", text="双方情绪激动,已隔开")
    party_register(incident_id=case.pk, actor=ctx["responder"], name="赵六", phone="13700000000", id_number=VALID_ID)
    act(ctx, case, "resolve", who="responder", text="调解成功,双方和解")
    act(ctx, case, "feed_back", text="已调解")
    case = act(ctx, case, "close")
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.closed_at and case.resolved_at
    assert statuses(case) == [Status.DISPATCHED, Status.ARRIVED, Status.REPORTED, Status.RESOLVED,
                              Status.FED_BACK, Status.CLOSED]
    kinds = set(case.events.values_list("kind", flat=True))
    assert {"created", "dispatched", "arrived", "party_registered"} <= kinds
    order = DispatchOrder.objects.get(incident=case)
    assert order.state == DispatchOrder.State.ARRIVED and order.arrived_at
    # Feedback: the hotline caller and the registered party each get a call-back.
    assert sorted(case.callbacks.values_list("phone", flat=True)) == ["13700000000", "13912345678"]


def test_transfer_to_a_department_opens_the_off_site_flow(ctx):
    case = take_call(ctx)
    act(ctx, case, "dispatch", members=[ctx["member"]], method="phone")
    act(ctx, case, "arrive", who="responder")
    act(ctx, case, "report_on_site", who="responder", text="拖欠工资,现场无法调处")
    act(ctx, case, "transfer", unit=ctx["office"], text="劳资纠纷,移交劳动保障中队")
    act(ctx, case, "accept_handover", who="department")
    case.refresh_from_db()
    assert (case.flow, case.status) == (Flow.OFF_SITE, Status.IN_PROGRESS)
    act(ctx, case, "progress", who="department", text="已约谈企业负责人")
    act(ctx, case, "complete", who="department", text="企业已结清工资")
    act(ctx, case, "confirm")
    act(ctx, case, "feed_back", text="结果已反馈责任科室和当事人")
    act(ctx, case, "close")
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert statuses(case)[-5:] == [Status.IN_PROGRESS, Status.COMPLETED, Status.REPORTED_TO_COMMAND,
                                   Status.FED_BACK, Status.CLOSED]
    assert case.handovers.get().state == Handover.State.COMPLETED


def test_returned_transfer_bounces_back_and_is_counted(ctx):
    case = take_call(ctx)
    act(ctx, case, "dispatch", members=[ctx["member"]], method="phone")
    act(ctx, case, "arrive", who="responder")
    act(ctx, case, "transfer", unit=ctx["office"], text="移交")
    with pytest.raises(DomainError):
        act(ctx, case, "return_handover", who="department", text="")  # a return needs its reason
    act(ctx, case, "return_handover", who="department", text="不属于劳资纠纷")
    case.refresh_from_db()
    assert case.status == Status.REPORTED
    act(ctx, case, "transfer", unit=ctx["station"], text="治安问题,移交派出所")
    from incidents.selectors import handover_return_counts

    counts = {row["unit__name"]: row["returned"] for row in handover_return_counts(subdistrict=ctx["subdistrict"])}
    assert counts == {"劳动保障中队": 1, "派出所": 0}
    event = case.events.get(kind=IncidentEvent.Kind.TRANSFER_RETURNED)
    assert event.note == "不属于劳资纠纷" and event.data["returns"] == 1


def test_joint_assignment_form_opens_an_off_site_case(ctx):
    result = incident_intake(channel=ctx["joint"], category=ctx["category"], description="周例会交办:某小区物业纠纷",
                             actor=ctx["dispatcher"], offices=[ctx["office"], ctx["station"]])
    case = result.incident
    assert (case.flow, case.status, case.location) == (Flow.OFF_SITE, Status.ASSIGNED, None)
    assert [h.unit for h in case.handovers.order_by("id")] == [ctx["office"], ctx["station"]]
    act(ctx, case, "accept_handover", who="department")
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS


def test_every_refused_transition_answers_409_and_changes_nothing(ctx):
    """For each status, every action the flow does not allow from it is refused."""
    case = take_call(ctx)
    for status in Status.values:
        for flow in Flow.values:
            Incident.objects.filter(pk=case.pk).update(status=status, flow=flow,
                                                        closed_at=case.reported_at if status == "closed" else None,
                                                        merged_into=case if status == "merged" else None)
            allowed = {t.action for t in flows.available_actions(flow=flow, status=status)}
            for action in set(flows.TRANSITIONS) - allowed:
                before = case.events.count()
                with pytest.raises(TransitionRefused):
                    act(ctx, case, action, text="x", unit=ctx["office"], members=[ctx["member"]], method="radio")
                assert case.events.count() == before
                assert Incident.objects.get(pk=case.pk).status == status


def test_unknown_action_is_bad_input(ctx):
    case = take_call(ctx)
    with pytest.raises(DomainError) as err:
        act(ctx, case, "teleport")
    assert err.value.http_status == 400


@pytest.mark.parametrize(("who", "action", "kwargs"), [
    ("planner", "dispatch", {"method": "radio"}),
    ("calltaker", "dispatch", {"method": "radio"}),
    ("stranger", "arrive", {}),          # a responder without an order on this case
    ("department", "arrive", {}),
    ("leader", "dispatch", {"method": "radio"}),
])
def test_roles_that_may_not_act_are_refused(ctx, who, action, kwargs):
    case = take_call(ctx)
    if action == "arrive":
        act(ctx, case, "dispatch", members=[ctx["member"]], method="radio")
    with pytest.raises(Forbidden):
        act(ctx, case, action, who=who, members=[ctx["member"]], **kwargs)
    assert case.events.count() == (3 if action == "arrive" else 1)


def test_department_may_not_accept_a_handover_meant_for_another_unit(ctx):
    case = take_call(ctx)
    act(ctx, case, "dispatch", members=[ctx["member"]], method="radio")
    act(ctx, case, "arrive", who="responder")
    act(ctx, case, "transfer", unit=ctx["station"], text="移交派出所")
    with pytest.raises(Forbidden):
        act(ctx, case, "accept_handover", who="department")


def test_required_fields_are_enforced(ctx):
    case = take_call(ctx)
    with pytest.raises(DomainError) as err:
        act(ctx, case, "dispatch", method="radio")
    assert err.value.code == "members"
    with pytest.raises(DomainError) as err:
        act(ctx, case, "dispatch", members=[ctx["member"]], method="pigeon")
    assert err.value.code == "method"
    act(ctx, case, "dispatch", members=[ctx["member"]], method="radio")
    act(ctx, case, "arrive", who="responder")
    with pytest.raises(DomainError) as err:
        act(ctx, case, "report_on_site", who="responder", text="  ")
    assert err.value.code == "required"
    with pytest.raises(DomainError) as err:
        act(ctx, case, "transfer", text="移交")
    assert err.value.code == "unit"


def test_dispatching_the_same_member_twice_adds_no_second_order(ctx):
    case = take_call(ctx)
    act(ctx, case, "dispatch", members=[ctx["member"]], method="radio")
    act(ctx, case, "dispatch", members=[ctx["member"]], method="phone")
    assert DispatchOrder.objects.filter(incident=case).count() == 1


def test_party_id_numbers_are_checked_masked_and_revealed_only_to_some(ctx):
    case = take_call(ctx)
    act(ctx, case, "dispatch", members=[ctx["member"]], method="radio")
    with pytest.raises(DomainError) as err:
        party_register(incident_id=case.pk, actor=ctx["responder"], name="赵六", id_number="110105194912310021")
    assert err.value.code == "id_number"
    assert not Party.objects.exists()
    party = party_register(incident_id=case.pk, actor=ctx["responder"], name="赵六", id_number=VALID_ID.lower())
    assert party.id_number == VALID_ID and party.id_number_masked == "110***********002X"
    with pytest.raises(Forbidden):
        party_reveal(party_id=party.pk, actor=ctx["responder"])
    assert party_reveal(party_id=party.pk, actor=ctx["leader"]) == VALID_ID
    assert case.events.filter(kind=IncidentEvent.Kind.PARTY_REVEALED, actor=ctx["leader"]).count() == 1
    with pytest.raises(Forbidden):
        party_register(incident_id=case.pk, actor=ctx["stranger"], name="钱七")


def test_dissatisfied_call_back_reopens_the_case(ctx):
    case = take_call(ctx)
    act(ctx, case, "dispatch", members=[ctx["member"]], method="radio")
    act(ctx, case, "arrive", who="responder")
    act(ctx, case, "report_on_site", who="responder", text="已处置")
    act(ctx, case, "resolve", who="responder", text="已处置")
    act(ctx, case, "feed_back", text="已反馈")
    act(ctx, case, "close")
    task = case.callbacks.get()
    with pytest.raises(DomainError):
        callback_complete(callback_id=task.pk, actor=ctx["dispatcher"], state="done", satisfaction="", note="")
    with pytest.raises(DomainError):  # reopening needs a reason
        callback_complete(callback_id=task.pk, actor=ctx["dispatcher"], state="done",
                          satisfaction="dissatisfied", reopen=True)
    callback_complete(callback_id=task.pk, actor=ctx["dispatcher"], state="done", satisfaction="dissatisfied",
                      note="群众反映问题未解决", reopen=True)
    case.refresh_from_db()
    assert (case.status, case.closed_at, case.reopen_count) == (Status.REPORTED, None, 1)
    task.refresh_from_db()
    assert task.state == CallbackTask.State.DONE and task.satisfaction == "dissatisfied"
    with pytest.raises(TransitionRefused):
        callback_complete(callback_id=task.pk, actor=ctx["dispatcher"], state="done", satisfaction="satisfied")
