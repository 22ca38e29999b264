"""Signed result callbacks to the district linkage centre (incidents/feedback.py), against a real
local HTTP server that plays the centre: it checks every callback with `callback_verify` and the
channel's secret, and from its own database connection that the worker holds no lock on the
delivery while it calls. Also the lease (a second worker, or a worker killed mid-call) and
`manage.py callback_secret`.

The database tests are transactional: the server's thread and the worker's threads use their own
connections, which only see committed rows."""

import json
import secrets
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.contrib.gis.geos import Point
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone, translation

from config.roles import UserRole
from dispatch.services import incident_transition
from incidents.feedback import (
    HEADER_DELIVERY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    callback_body,
    callback_signature,
    callback_verify,
    channel_secret_issue,
    feedback_deliver_due,
)
from incidents.models import Channel, FeedbackDelivery, Incident, IncidentEvent, Status
from incidents.services import incident_intake
from tests.factories import S, W, make_channels, make_user, make_world
from tests.workers import worker_env

WAIT_S = 30


# --- the district centre -----------------------------------------------------------------------

class Centre(BaseHTTPRequestHandler):
    """Answers 200 to a callback whose signature verifies with the channel's secret (read from the
    database), 401 otherwise. `wrong_secret` verifies with another key; `tamper` alters the body
    before checking, as a man in the middle would; `hold` makes the handler wait for `release`."""

    channel_code = ""
    wrong_secret = ""
    tamper = False
    hold = False
    entered: threading.Event
    release: threading.Event
    received: list
    lock_checks: list

    def do_POST(self):  # noqa: N802 - http.server's naming
        cls = type(self)
        try:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            cls.lock_checks.append(_row_lock_free(int(self.headers[HEADER_DELIVERY])))
            secret = cls.wrong_secret or Channel.objects.get(code=cls.channel_code).callback_secret
        finally:
            connection.close()  # this thread's connection
        if cls.tamper:
            body = body.replace(b"QX-", b"QY-")
        valid = callback_verify(secret=secret, timestamp=self.headers[HEADER_TIMESTAMP], body=body,
                                signature=self.headers[HEADER_SIGNATURE])
        cls.received.append({"headers": dict(self.headers), "body": body, "valid": valid})
        if cls.hold:
            cls.entered.set()
            cls.release.wait(WAIT_S)
        self.send_response(200 if valid else 401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ack": true}' if valid else b'{"error": "bad signature"}')

    def log_message(self, *args):
        pass


def _row_lock_free(delivery_id: int) -> dict:
    """From a connection of its own: lock the delivery row, NOWAIT. Fails at once if the worker
    still held it."""
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT id, attempts FROM incidents_feedbackdelivery WHERE id = %s FOR UPDATE NOWAIT",
                        [delivery_id])
            return {"locked": True, "rows": cur.fetchall()}
    except DatabaseError as exc:
        return {"locked": False, "error": str(exc)}


@pytest.fixture
def centre():
    Centre.wrong_secret, Centre.tamper, Centre.hold = "", False, False
    Centre.entered, Centre.release = threading.Event(), threading.Event()
    Centre.received, Centre.lock_checks = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Centre)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/gridlink/results"
    Centre.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def delivery(transactional_db, centre) -> FeedbackDelivery:
    """A district order fed back: one pending delivery to the centre's URL."""
    world = make_world()
    world.update(make_channels())
    district = world["district"]
    district.callback_url = centre
    district.save()
    Centre.channel_code = district.code
    case = incident_intake(channel=district, category=world["category"], description="井盖缺失,存在安全隐患",
                           actor=make_user("centre", UserRole.INTEGRATION), external_id="QX-301",
                           location=Point(W + 0.004, S + 0.004, srid=4326)).incident
    Incident.objects.filter(pk=case.pk).update(status=Status.RESOLVED, resolved_at=timezone.now())
    incident_transition(incident_id=case.pk, action="feed_back", actor=make_user("disp", UserRole.DISPATCHER),
                        text="已补装井盖")
    return FeedbackDelivery.objects.get(incident=case)


def _in_thread(function, results: list) -> threading.Thread:
    def run():
        try:
            results.append(function())
        finally:
            connection.close()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# --- the signature -----------------------------------------------------------------------------

def test_callback_verify_accepts_our_signature_only():
    key, other = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    body = callback_body({"result": "已处置完毕", "external_id": "QX-1"})
    assert body == '{"external_id":"QX-1","result":"已处置完毕"}'.encode()
    now = int(time.time())
    ts = str(now)
    signature = callback_signature(secret=key, timestamp=ts, body=body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert callback_verify(secret=key, timestamp=ts, body=body, signature=signature)
    assert not callback_verify(secret=key, timestamp=ts, body=body.replace(b"QX-1", b"QX-2"),
                               signature=signature)
    assert not callback_verify(secret=other, timestamp=ts, body=body, signature=signature)
    assert not callback_verify(secret=key, timestamp=str(now + 1), body=body, signature=signature)
    assert not callback_verify(secret="", timestamp=ts, body=body, signature=signature)
    assert not callback_verify(secret=key, timestamp=ts, body=body, signature=signature[7:])
    assert not callback_verify(secret=key, timestamp=ts, body=body, signature="sha256=签名")
    assert not callback_verify(secret=key, timestamp="", body=body, signature=signature)
    # an old callback replayed: refused once outside the tolerance
    old = str(now - 600)
    replayed = callback_signature(secret=key, timestamp=old, body=body)
    assert not callback_verify(secret=key, timestamp=old, body=body, signature=replayed)
    assert callback_verify(secret=key, timestamp=old, body=body, signature=replayed, now=now - 500)
    assert callback_verify(secret=key, timestamp=old, body=body, signature=replayed, tolerance_s=900)


# --- delivery ----------------------------------------------------------------------------------

def test_signed_callback_is_verified_by_the_centre_and_delivered(delivery):
    assert Channel.objects.get(code=Centre.channel_code).callback_secret == ""
    assert feedback_deliver_due() == 1
    secret = Channel.objects.get(code=Centre.channel_code).callback_secret
    assert len(secret) >= 40  # created at the claim, so that every callback is signed
    [seen] = Centre.received
    assert seen["valid"]
    headers = seen["headers"]
    assert headers[HEADER_DELIVERY] == str(delivery.pk)
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert abs(int(headers[HEADER_TIMESTAMP]) - time.time()) < 60
    assert seen["body"] == callback_body(delivery.payload)
    assert json.loads(seen["body"])["external_id"] == "QX-301" and "已补装井盖".encode() in seen["body"]
    # the call ran with no transaction holding the row: another connection locked it NOWAIT
    assert Centre.lock_checks == [{"locked": True, "rows": [(delivery.pk, 0)]}]
    delivery.refresh_from_db()
    assert delivery.state == FeedbackDelivery.State.DELIVERED and delivery.attempts == 1
    assert [(a.http_status, a.ok) for a in delivery.attempt_log.all()] == [(200, True)]
    assert delivery.incident.events.filter(kind=IncidentEvent.Kind.FEEDBACK_DELIVERED).count() == 1
    assert feedback_deliver_due(now=timezone.now() + timedelta(days=1)) == 0


@pytest.mark.parametrize("attack", ["tampered body", "wrong secret"])
def test_a_callback_that_does_not_verify_is_refused_and_the_delivery_stays_pending(delivery, attack):
    if attack == "tampered body":
        Centre.tamper = True
    else:
        Centre.wrong_secret = secrets.token_urlsafe(32)
    t0 = timezone.now()
    assert feedback_deliver_due(now=t0) == 1
    assert [r["valid"] for r in Centre.received] == [False]
    delivery.refresh_from_db()
    assert delivery.state == FeedbackDelivery.State.PENDING and delivery.attempts == 1
    assert delivery.next_attempt_at == t0 + timedelta(seconds=django_settings.FEEDBACK_RETRY_BASE_SECONDS)  # backoff
    [attempt] = delivery.attempt_log.all()
    assert attempt.http_status == 401 and not attempt.ok and "bad signature" in attempt.error
    failed = delivery.incident.events.get(kind=IncidentEvent.Kind.FEEDBACK_FAILED)
    assert failed.data["http_status"] == 401
    # the centre configured right: the next try is acknowledged
    Centre.tamper, Centre.wrong_secret = False, ""
    assert feedback_deliver_due(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert delivery.state == FeedbackDelivery.State.DELIVERED and delivery.attempts == 2
    assert [a.http_status for a in delivery.attempt_log.all()] == [401, 200]


def test_no_lock_during_the_call_and_the_lease_keeps_a_second_worker_off(delivery, settings):
    settings.FEEDBACK_TIMEOUT_SECONDS = WAIT_S  # the held call must not time out
    Centre.hold = True
    first: list = []
    worker = _in_thread(feedback_deliver_due, first)
    assert Centre.entered.wait(WAIT_S), "the centre was never called"
    # while the first worker is inside its HTTP call:
    assert Centre.lock_checks == [{"locked": True, "rows": [(delivery.pk, 0)]}]
    assert _row_lock_free(delivery.pk)["locked"]  # from this thread's connection too
    leased = FeedbackDelivery.objects.get(pk=delivery.pk)
    assert leased.state == FeedbackDelivery.State.PENDING and leased.attempts == 0
    assert leased.next_attempt_at > timezone.now() + timedelta(seconds=WAIT_S * 2)  # leased
    assert feedback_deliver_due() == 0  # a second worker: nothing due, nothing posted
    assert len(Centre.received) == 1
    Centre.release.set()
    worker.join(WAIT_S)
    assert first == [1]
    delivery.refresh_from_db()
    assert delivery.state == FeedbackDelivery.State.DELIVERED and delivery.attempts == 1
    assert delivery.attempt_log.count() == 1


def test_a_worker_killed_during_the_call_leaves_the_delivery_to_be_retried_after_the_lease(delivery, workers):
    Centre.hold = True
    worker = workers("gl-feedback", "run_feedback_worker", "--once",
                     env=worker_env("gl-feedback", DB_POOL_MIN_SIZE="0"))
    try:
        assert Centre.entered.wait(120), f"the worker never called the centre\n{worker.tail()}"
    finally:
        worker.kill()
    Centre.release.set()
    leased = FeedbackDelivery.objects.get(pk=delivery.pk)
    assert leased.state == FeedbackDelivery.State.PENDING and leased.attempts == 0
    assert leased.attempt_log.count() == 0 and leased.next_attempt_at > timezone.now()
    assert feedback_deliver_due() == 0  # still leased
    Centre.hold = False
    assert feedback_deliver_due(now=leased.next_attempt_at) == 1  # the lease ran out: posted again
    delivery.refresh_from_db()
    assert delivery.state == FeedbackDelivery.State.DELIVERED and delivery.attempts == 1
    # at least once: the centre saw the same delivery id twice and de-duplicates by it
    assert [r["headers"][HEADER_DELIVERY] for r in Centre.received] == [str(delivery.pk)] * 2
    assert all(r["valid"] for r in Centre.received)


# --- manage.py callback_secret -----------------------------------------------------------------

def test_callback_secret_command_prints_the_secret_and_rotates_it(db):
    channel = make_channels()["district"]
    out, err = StringIO(), StringIO()
    with translation.override("en"):
        call_command("callback_secret", channel.code, stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert len(secret) >= 40 and Channel.objects.get(pk=channel.pk).callback_secret == secret
    assert "no result callbacks" in err.getvalue()  # no callback URL yet
    again = StringIO()
    call_command("callback_secret", channel.code, stdout=again)
    assert again.getvalue().strip() == secret  # the same until rotated
    rotated = StringIO()
    call_command("callback_secret", channel.code, "--rotate", stdout=rotated)
    assert rotated.getvalue().strip() not in ("", secret)
    assert Channel.objects.get(pk=channel.pk).callback_secret == rotated.getvalue().strip()
    with pytest.raises(CommandError, match="nobody"):
        call_command("callback_secret", "nobody", stdout=StringIO())


def test_channel_admin_never_shows_the_secret_and_rotates_it(admin_client):
    channel = make_channels()["district"]
    secret = channel_secret_issue(channel)
    changelist = admin_client.get(reverse("admin:incidents_channel_changelist"))
    assert changelist.status_code == 200 and secret not in changelist.content.decode()
    change = admin_client.get(reverse("admin:incidents_channel_change", args=[channel.pk]))
    page = change.content.decode()
    assert change.status_code == 200 and secret not in page and secret[-4:] in page
    assert 'name="callback_secret"' not in page  # read-only: never typed in
    response = admin_client.post(reverse("admin:incidents_channel_changelist"),
                                 {"action": "rotate_callback_secret", "_selected_action": [channel.pk]}, follow=True)
    assert response.status_code == 200
    rotated = Channel.objects.get(pk=channel.pk).callback_secret
    assert rotated and rotated != secret and rotated not in response.content.decode()
