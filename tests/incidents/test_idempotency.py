"""Actions queued offline on a phone are replayed safely: the `Idempotency-Key` header on the API's
actions (incidents/idempotency.py) and one position fix per member and time.

A repeat with the same key answers the first answer (2xx or 4xx) and runs nothing; the same key with
another body is 422; keys are per user; two identical requests at once run once; a 5xx keeps
nothing; without a key everything is as before."""

import threading
import time
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from config.roles import UserRole
from dispatch import positions
from dispatch import services as dispatch_services
from dispatch.models import DispatchOrder, Member, PositionFix
from dispatch.services import incident_transition
from incidents.models import IdempotentRequest, Incident, IncidentEvent, Status
from incidents.services import incident_intake
from tests.factories import S, W, api_client, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.world(on_duty=True)]

SCENE = Point(W + 0.004, S + 0.004, srid=4326)
LON, LAT = 120.495, 30.495
REPLAYED = "Idempotent-Replayed"


@pytest.fixture(autouse=True)
def _fresh_fanout():
    positions.fanout.reset()
    yield
    positions.fanout.reset()


@pytest.fixture
def ctx(world, users):
    """The shared world on duty, its users, a second dispatcher and a case taken in."""
    world.update(dispatcher=users.dispatcher, other_dispatcher=make_user("disp2", UserRole.DISPATCHER),
                 calltaker=users.call_taker, responder=users.responder, gateway=users.integration)
    world["incident"] = incident_intake(channel=world["channel"], category=world["category"], actor=world["calltaker"],
                                        description="小区门口两人因停车发生争执", location=SCENE).incident
    return world


def post(client, url, body, key=None):
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(url, body, format="json", headers=headers)


def transition_url(incident_id) -> str:
    return reverse("incidents:incident-transition", args=[incident_id])


def notes(incident: Incident) -> list[str]:
    return list(incident.events.filter(kind=IncidentEvent.Kind.NOTE).order_by("id").values_list("note", flat=True))


def fix(member, *, ago=60.0, lon=LON) -> dict:
    return {"member": member.pk, "at": (timezone.now() - timedelta(seconds=ago)).isoformat(),
            "lon": lon, "lat": LAT, "accuracy_m": 8.0, "datum": "WGS84"}


# --- replays ---------------------------------------------------------------------------------------

def test_a_transition_sent_twice_with_a_key_is_applied_once(ctx):
    client = api_client(ctx["dispatcher"])
    url, incident = transition_url(ctx["incident"].pk), ctx["incident"]
    body = {"action": "dispatch", "members": [ctx["member"].pk], "method": "radio", "text": "请速到场"}
    first = post(client, url, body, key="phone-7f3a-0001")
    assert first.status_code == 200, first.content
    assert REPLAYED not in first
    events = incident.events.count()
    second = post(client, url, body, key="phone-7f3a-0001")
    assert second.status_code == 200
    assert second[REPLAYED] == "true"
    assert second.json() == first.json()
    assert incident.events.count() == events
    assert incident.events.filter(kind=IncidentEvent.Kind.DISPATCHED).count() == 1
    assert DispatchOrder.objects.filter(incident=incident).count() == 1
    # a note: applied once, one timeline event
    note = {"action": "note", "text": "群众再次来电催促"}
    assert post(client, url, note, key="phone-7f3a-0002").status_code == 200
    again = post(client, url, note, key="phone-7f3a-0002")
    assert again.status_code == 200 and again[REPLAYED] == "true"
    assert notes(incident) == ["群众再次来电催促"]
    assert IdempotentRequest.objects.filter(user=ctx["dispatcher"]).count() == 2


def test_a_refused_action_replays_as_refused_and_changes_nothing(ctx):
    client = api_client(ctx["dispatcher"])
    incident, url = ctx["incident"], transition_url(ctx["incident"].pk)
    refused = post(client, url, {"action": "arrive"}, key="arrive-1")  # nobody dispatched yet
    assert refused.status_code == 409
    # the case moves on: the same action would now be allowed, but the key answers what it answered
    incident_transition(incident_id=incident.pk, action="dispatch", actor=ctx["dispatcher"],
                        members=[ctx["member"]], method="radio")
    events = incident.events.count()
    again = post(client, url, {"action": "arrive"}, key="arrive-1")
    assert again.status_code == 409 and again[REPLAYED] == "true"
    assert again.json() == refused.json()
    incident.refresh_from_db()
    assert incident.status == Status.DISPATCHED and incident.events.count() == events
    assert DispatchOrder.objects.get(incident=incident).state == DispatchOrder.State.DISPATCHED


def test_the_same_key_with_another_body_or_path_is_422_and_changes_nothing(ctx):
    client = api_client(ctx["dispatcher"])
    incident, url = ctx["incident"], transition_url(ctx["incident"].pk)
    assert post(client, url, {"action": "note", "text": "第一条"}, key="k-1").status_code == 200
    other_body = post(client, url, {"action": "note", "text": "第二条"}, key="k-1")
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency_key_reused"
    assert "different request" in other_body.json()["detail"]
    assert REPLAYED not in other_body
    second = incident_intake(channel=ctx["channel"], category=ctx["category"], actor=ctx["calltaker"],
                             description="另一起", location=SCENE).incident
    other_path = post(client, transition_url(second.pk), {"action": "note", "text": "第一条"}, key="k-1")
    assert other_path.status_code == 422
    assert notes(incident) == ["第一条"] and notes(second) == []
    # in Chinese by default
    chinese = post(api_client(ctx["dispatcher"], language="zh-hans"), url, {"action": "note", "text": "x"}, key="k-1")
    assert chinese.status_code == 422 and "幂等键" in chinese.json()["detail"]


def test_a_key_is_per_user(ctx):
    url, body = transition_url(ctx["incident"].pk), {"action": "note", "text": "到场情况"}
    first = post(api_client(ctx["dispatcher"]), url, body, key="shared-key")
    second = post(api_client(ctx["other_dispatcher"]), url, body, key="shared-key")
    assert first.status_code == second.status_code == 200
    assert REPLAYED not in second
    assert notes(ctx["incident"]) == ["到场情况", "到场情况"]


def test_an_order_accepted_offline_is_replayed(ctx):
    incident_transition(incident_id=ctx["incident"].pk, action="dispatch", actor=ctx["dispatcher"],
                        members=[ctx["member"]], method="radio")
    order = DispatchOrder.objects.get(incident=ctx["incident"])
    url = reverse("dispatch:order-accept", args=[order.pk])
    phone = api_client(ctx["responder"])
    first = post(phone, url, None, key="accept-2026-12-03T08:31:07Z")
    assert first.status_code == 200, first.content
    order.refresh_from_db()
    accepted_at, events = order.accepted_at, ctx["incident"].events.count()
    assert order.state == DispatchOrder.State.ACCEPTED
    again = post(phone, url, None, key="accept-2026-12-03T08:31:07Z")
    assert again.status_code == 200 and again[REPLAYED] == "true"
    assert again.json() == first.json()
    order.refresh_from_db()
    assert order.accepted_at == accepted_at and ctx["incident"].events.count() == events
    # without the key the same accept is refused: it is accepted already
    assert post(phone, url, None).status_code == 409


def test_a_batch_of_positions_sent_twice_is_stored_once(ctx):
    gateway = api_client(ctx["gateway"])
    batch = {"positions": [fix(ctx["member"], ago=30), fix(ctx["member"], ago=20, lon=LON + 0.001)]}
    url = reverse("positions:position-batch")
    assert post(gateway, url, batch).json() == {"stored": 2}
    rows = list(PositionFix.objects.order_by("id").values_list("id", "recorded_at", "received_at"))
    again = post(gateway, url, batch)  # no key: the track's uniqueness
    assert again.status_code == 201 and again.json() == {"stored": 0}
    assert list(PositionFix.objects.order_by("id").values_list("id", "recorded_at", "received_at")) == rows
    # a batch overlapping the stored one adds only its new fix
    more = {"positions": [*batch["positions"], fix(ctx["member"], ago=10)]}
    assert post(gateway, url, more).json() == {"stored": 1}
    # with a key the replay answers the first answer
    keyed = {"positions": [fix(ctx["member"], ago=5)]}
    assert post(gateway, url, keyed, key="batch-42").json() == {"stored": 1}
    replay = post(gateway, url, keyed, key="batch-42")
    assert replay.status_code == 201 and replay.json() == {"stored": 1} and replay[REPLAYED] == "true"
    assert PositionFix.objects.count() == 4


def test_the_service_skips_fixes_the_track_holds_already(ctx):
    at = timezone.now() - timedelta(seconds=30)
    same = [positions.Fix(ctx["member"].pk, at, LON, LAT), positions.Fix(ctx["member"].pk, at, LON, LAT)]
    assert positions.positions_ingest(fixes=same) == 1  # twice in one batch
    assert positions.positions_ingest(fixes=same) == 0
    assert PositionFix.objects.count() == 1


# --- the member the phone names (X-GridLink-Member) ----------------------------------------------------

MEMBER = "X-GridLink-Member"


def accept_url(ctx) -> str:
    incident_transition(incident_id=ctx["incident"].pk, action="dispatch", actor=ctx["dispatcher"],
                        members=[ctx["member"]], method="radio")
    return reverse("dispatch:order-accept", args=[DispatchOrder.objects.get(incident=ctx["incident"]).pk])


def test_an_action_named_for_the_logged_in_member_runs(ctx):
    url = accept_url(ctx)
    response = api_client(ctx["responder"]).post(url, None, format="json",
                                                 headers={"Idempotency-Key": "k-1", MEMBER: str(ctx["member"].pk)})
    assert response.status_code == 200, response.content
    assert DispatchOrder.objects.get(incident=ctx["incident"]).state == DispatchOrder.State.ACCEPTED
    assert IdempotentRequest.objects.filter(user=ctx["responder"], key="k-1").exists()


@pytest.mark.parametrize("named", ["other", "not-a-number"])
def test_an_action_named_for_another_member_is_409_runs_nothing_and_keeps_no_key(ctx, named):
    url = accept_url(ctx)
    other = Member.objects.create(subdistrict=ctx["subdistrict"], unit=ctx["unit"], code="T1-M2", name="陈静",
                                  force=ctx["member"].force, phone="13800000002", travel_mode=ctx["member"].travel_mode,
                                  home=ctx["member"].home)
    header = str(other.pk) if named == "other" else "12abc"
    phone = api_client(ctx["responder"])
    events = ctx["incident"].events.count()
    refused = phone.post(url, None, format="json", headers={"Idempotency-Key": "k-2", MEMBER: header})
    assert refused.status_code == 409
    assert refused.json()["code"] == "wrong_member" and refused.json()["detail"]
    assert DispatchOrder.objects.get(incident=ctx["incident"]).state == DispatchOrder.State.DISPATCHED
    assert ctx["incident"].events.count() == events
    assert not IdempotentRequest.objects.exists()
    # Under the right login the same key runs as new: nothing was recorded with it.
    again = phone.post(url, None, format="json", headers={"Idempotency-Key": "k-2", MEMBER: str(ctx["member"].pk)})
    assert again.status_code == 200 and REPLAYED not in again
    assert DispatchOrder.objects.get(incident=ctx["incident"]).state == DispatchOrder.State.ACCEPTED


def test_a_login_without_a_member_is_refused_when_a_member_is_named(ctx):
    url, body = transition_url(ctx["incident"].pk), {"action": "note", "text": "别人的备注"}
    refused = api_client(ctx["dispatcher"]).post(url, body, format="json",
                                                 headers={"Idempotency-Key": "k-3", MEMBER: str(ctx["member"].pk)})
    assert refused.status_code == 409 and refused.json()["code"] == "wrong_member"
    assert notes(ctx["incident"]) == [] and not IdempotentRequest.objects.exists()
    # An inactive member is no member: refused as well.
    Member.objects.filter(pk=ctx["member"].pk).update(active=False)
    assert api_client(ctx["responder"]).post(url, body, format="json",
                                             headers={MEMBER: str(ctx["member"].pk)}).status_code == 409
    assert notes(ctx["incident"]) == []


# --- without a key, bad keys, expiry, 5xx ------------------------------------------------------------

def test_without_a_key_everything_is_as_before(ctx):
    client = api_client(ctx["dispatcher"])
    url, body = transition_url(ctx["incident"].pk), {"action": "note", "text": "补充"}
    for _ in range(2):
        response = post(client, url, body)
        assert response.status_code == 200 and REPLAYED not in response
    assert notes(ctx["incident"]) == ["补充", "补充"]
    assert not IdempotentRequest.objects.exists()
    # a GET ignores the header
    detail = client.get(reverse("incidents:incident-detail", args=[ctx["incident"].pk]),
                        headers={"Idempotency-Key": "x"})
    assert detail.status_code == 200 and not IdempotentRequest.objects.exists()


@pytest.mark.parametrize("key", ["", "k" * 129, "钥匙", "tab\tkey"])
def test_a_malformed_key_is_400_and_runs_nothing(ctx, key):
    response = post(api_client(ctx["dispatcher"]), transition_url(ctx["incident"].pk),
                    {"action": "note", "text": "x"}, key=key)
    assert response.status_code == 400 and response.json()["code"] == "idempotency_key"
    assert notes(ctx["incident"]) == [] and not IdempotentRequest.objects.exists()


def test_an_expired_key_runs_again_and_old_keys_are_purged(ctx, settings):
    settings.IDEMPOTENCY_KEY_HOURS = 48  # the default is 14 days: a short window keeps the numbers plain
    client = api_client(ctx["dispatcher"])
    url, body = transition_url(ctx["incident"].pk), {"action": "note", "text": "旧"}
    assert post(client, url, body, key="old").status_code == 200
    IdempotentRequest.objects.create(user=ctx["other_dispatcher"], key="stale", method="POST", path="/x/",
                                     body_hash="0" * 64, response_status=200, response_body={},
                                     created_at=timezone.now() - timedelta(hours=49))
    IdempotentRequest.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=49))
    again = post(client, url, body, key="old")
    assert again.status_code == 200 and REPLAYED not in again
    assert notes(ctx["incident"]) == ["旧", "旧"]
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["old"]  # "stale" purged
    settings.IDEMPOTENCY_KEY_HOURS = 100
    IdempotentRequest.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=49))
    assert post(client, url, body, key="old")[REPLAYED] == "true"


def test_a_server_error_keeps_nothing_and_the_key_can_be_retried(ctx, monkeypatch):
    def broken(**kwargs):
        Incident.objects.filter(pk=kwargs["incident_id"]).update(level=2)  # undone with the request
        raise RuntimeError("the database went away")

    url, body = transition_url(ctx["incident"].pk), {"action": "note", "text": "重试"}
    with monkeypatch.context() as patch:
        patch.setattr(dispatch_services, "incident_transition", broken)
        failed = post(api_client(ctx["dispatcher"], raise_request_exception=False), url, body, key="retry-me")
    assert failed.status_code == 500
    assert not IdempotentRequest.objects.exists()
    ctx["incident"].refresh_from_db()
    assert ctx["incident"].level == 0
    retried = post(api_client(ctx["dispatcher"]), url, body, key="retry-me")
    assert retried.status_code == 200 and REPLAYED not in retried
    assert notes(ctx["incident"]) == ["重试"]


def test_the_schema_documents_the_header_on_every_action(ctx):
    schema = api_client(ctx["dispatcher"]).get("/api/schema/", {"format": "json"}).json()
    keyed, unkeyed = set(), set()
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/") or "post" not in operations:
            continue
        names = {p["name"] for p in operations["post"].get("parameters", []) if p["in"] == "header"}
        (keyed if "Idempotency-Key" in names else unkeyed).add(path)
        for method, operation in operations.items():
            if method != "post":
                assert "Idempotency-Key" not in {p["name"] for p in operation.get("parameters", [])}
    assert unkeyed == {"/api/v1/parties/{id}/reveal/", "/api/v1/incidents/{id}/reveal/"}
    assert {"/api/v1/incidents/{id}/transitions/", "/api/v1/incidents/{id}/merge/", "/api/v1/incidents/{id}/locate/",
            "/api/v1/incidents/{id}/category/", "/api/v1/incidents/{id}/parties/", "/api/v1/incidents/",
            "/api/v1/callbacks/{id}/complete/", "/api/v1/dispatch/orders/{id}/accept/",
            "/api/v1/dispatch/orders/{id}/decline/", "/api/v1/dispatch/orders/{id}/stand-down/",
            "/api/v1/dispatch/orders/{id}/replace/", "/api/v1/dispatch/incidents/{id}/level/",
            "/api/v1/dispatch/alarms/{id}/acknowledge/", "/api/v1/dispatch/alarms/{id}/snooze/",
            "/api/v1/positions/"} <= keyed


# --- two identical requests at once ---------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_two_identical_requests_at_once_run_once(ctx, monkeypatch):
    incident = ctx["incident"]
    calls: list[int] = []
    real = dispatch_services.incident_transition

    def slow(**kwargs):  # holds the key's row long enough for the other request to arrive
        calls.append(1)
        time.sleep(0.5)
        return real(**kwargs)

    monkeypatch.setattr(dispatch_services, "incident_transition", slow)
    barrier = threading.Barrier(2)
    responses, took, errors = [], {}, []
    body = {"action": "note", "text": "离线排队的备注"}

    def send():
        try:
            client = api_client(ctx["dispatcher"])
            barrier.wait(timeout=10)
            began = time.monotonic()
            response = post(client, transition_url(incident.pk), body, key="queued-1")
            took[response.headers.get(REPLAYED, "")] = time.monotonic() - began
            responses.append(response)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert [r.status_code for r in responses] == [200, 200]
    assert sorted(r.headers.get(REPLAYED, "") for r in responses) == ["", "true"]
    assert responses[0].json() == responses[1].json()
    assert len(calls) == 1
    assert took["true"] > 0.3  # the repeat waited for the first one to commit, then replayed it
    assert notes(incident) == ["离线排队的备注"]
    assert IdempotentRequest.objects.get(key="queued-1").response_status == 200
