"""The command room sees whether each person was reached (issue 10): per message of a case, when
it was written (told), when the member read it in the app (seen), and its outbound delivery —
on the incident page's dispatch API (`messages`, per order `told_at` / `seen_at`) and on the wall
card, in a constant number of queries."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config.roles import UserRole
from dispatch.models import Alarm, DispatchOrder, MemberMessage
from dispatch.notifier import notifier_deliver_due
from dispatch.notify import message_read
from dispatch.sla import sla_tick
from incidents.models import Status
from tests.dispatch.test_member_messages import dispatch
from tests.dispatch.test_sla_clock import add_leaders, add_member, make_incident, make_order, on_duty
from tests.factories import api_client, make_user
from tests.wall.test_wall_api import field_names
from wall.serializers import WallCardOrderSerializer, WallIncidentCardSerializer


@pytest.fixture
def world(world, users):
    """test_member_messages.small_world on the shared world: test_sla_clock's leaders, the late
    member on duty, the dispatcher; and the command room."""
    add_leaders(world)
    on_duty(world["member"])
    world.update(dispatcher=users.dispatcher, command=users.command_room)
    return world


def summary(user, incident) -> dict:
    response = api_client(user).get(reverse("dispatch:incident-dispatch", args=[incident.pk]))
    assert response.status_code == 200, response.content
    return response.json()


def card(user, incident) -> dict:
    code = incident.subdistrict.code
    response = api_client(user).get(reverse("wall:incident", args=[code, incident.pk]))
    assert response.status_code == 200, response.content
    return response.json()


def at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def test_a_dispatch_is_told_not_seen_then_seen_once_the_member_reads_it(world):
    incident = make_incident(world, status=Status.NEW)
    dispatch(world, incident, world["member"])
    order = DispatchOrder.objects.get(incident=incident)
    body = summary(world["command"], incident)
    (item,) = body["orders"]
    assert at(item["told_at"]) == order.dispatched_at and item["seen_at"] is None
    (message,) = body["messages"]
    assert message["member"] == {"id": world["member"].pk, "name": "张伟"}
    assert (message["kind"], message["order"], message["alarm"]) == ("order", order.pk, None)
    assert at(message["created_at"]) == order.dispatched_at and message["read_at"] is None
    assert (message["state"], message["attempts"], message["sent_at"], message["status"]) == (
        "pending", 0, None, "waiting")

    read = timezone.now()
    message_read(world["member"], message["id"], at=read)
    body = summary(world["command"], incident)
    assert at(body["orders"][0]["seen_at"]) == read
    assert body["messages"][0]["status"] == "seen" and at(body["messages"][0]["read_at"]) == read


def test_the_outbox_marks_it_sent_and_a_failing_gateway_retrying(world, settings):
    settings.NOTIFY_GATEWAY_URL = ""
    incident = make_incident(world, status=Status.NEW)
    dispatch(world, incident, world["member"])  # no app login: due at once
    assert notifier_deliver_due() == 1
    (message,) = summary(world["command"], incident)["messages"]
    sent = MemberMessage.objects.get(pk=message["id"]).sent_at
    assert (message["status"], message["state"], message["attempts"]) == ("sent", "sent", 1)
    assert at(message["sent_at"]) == sent and message["read_at"] is None

    # A gateway nobody answers: tried, not taken, retried later.
    settings.NOTIFY_GATEWAY_URL, settings.NOTIFY_TIMEOUT_SECONDS = "http://127.0.0.1:9/", 2.0
    other = add_member(world, "T1-M2", "队员二")
    on_duty(other)
    second = make_incident(world, status=Status.NEW)
    dispatch(world, second, other)
    assert notifier_deliver_due() == 1
    (message,) = summary(world["command"], second)["messages"]
    assert (message["status"], message["state"], message["attempts"]) == ("retrying", "pending", 1)
    assert message["last_error"]


def test_an_overdue_alarms_recipients_are_listed_with_the_alarm(world):
    incident = make_incident(world)
    order = make_order(world, incident, world["member"], arrive_by=timezone.now() - timedelta(minutes=1))
    assert sla_tick() == 1
    alarm = Alarm.objects.get()
    body = summary(world["command"], incident)
    assert [a["id"] for a in body["alarms"]] == [alarm.pk]
    told = {(m["member"]["name"], m["kind"], m["status"]) for m in body["messages"] if m["alarm"] == alarm.pk}
    assert told == {("班长甲", "alarm", "waiting"), ("张伟", "reminder", "waiting")}
    # An order written without a message (here: by hand) says nothing about being told.
    assert body["orders"][0]["id"] == order.pk and body["orders"][0]["told_at"] is None


def test_the_wall_card_carries_the_same(world):
    incident = make_incident(world, status=Status.NEW)
    dispatch(world, incident, world["member"])
    message = MemberMessage.objects.get()
    message_read(world["member"], message.pk)
    message.refresh_from_db()
    body = card(world["command"], incident)
    assert set(body) == field_names(WallIncidentCardSerializer)
    (item,) = body["orders"]
    assert set(item) == field_names(WallCardOrderSerializer)
    assert at(item["told_at"]) == message.created_at and at(item["seen_at"]) == message.read_at
    assert [(m["id"], m["status"]) for m in body["messages"]] == [(message.pk, "seen")]
    assert body["messages"] == summary(world["command"], incident)["messages"]


def test_a_responder_sees_only_their_own_messages(world):
    responder = make_user("resp", UserRole.RESPONDER, member=world["member"])
    other = add_member(world, "T1-M2", "队员二")
    on_duty(other)
    incident = make_incident(world, status=Status.NEW)
    dispatch(world, incident, world["member"], other)
    body = summary(responder, incident)
    assert [m["member"]["id"] for m in body["messages"]] == [world["member"].pk]
    told = {o["member"]["id"]: o["told_at"] for o in body["orders"]}
    assert told[world["member"].pk] is not None and told[other.pk] is None


def test_the_query_count_does_not_grow_with_the_orders(world, settings):
    settings.NOTIFY_GATEWAY_URL = ""
    members = [world["member"]]
    for i in range(5):
        members.append(add_member(world, f"T1-Q{i}", f"队员Q{i}"))
        on_duty(members[-1])
    one, five = make_incident(world, status=Status.NEW), make_incident(world, status=Status.NEW)
    dispatch(world, one, members[0])
    dispatch(world, five, *members[1:])
    notifier_deliver_due()
    for message in MemberMessage.objects.filter(incident=five)[:2]:
        message_read(message.member_id, message.pk)

    def queries(url) -> int:
        client = api_client(world["command"])
        client.get(url)  # warm up (content types, sessions)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    code = world["subdistrict"].code
    for name, args in (("dispatch:incident-dispatch", []), ("wall:incident", [code])):
        counts = [queries(reverse(name, args=[*args, incident.pk])) for incident in (one, five)]
        assert counts[0] == counts[1], (name, counts)
        assert len(summary(world["command"], five)["orders"]) == 5
