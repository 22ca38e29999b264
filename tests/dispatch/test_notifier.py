"""The outbound notifier (dispatch/notifier.py, `manage.py run_notifier`) against a real local HTTP
server playing the SMS / messaging gateway: retried with backoff until acknowledged, every attempt
recorded, no transaction open during the call; a message read in the app within its grace is never
sent; without a gateway the outbox log; and a notifier killed while the gateway holds its request
delivers the message once in our records after a restart (the gateway sees the same
Idempotency-Key again, and de-duplicates by it).

The tests are transactional: the gateway's thread and the notifier processes use their own
database connections, which only see committed rows."""

import json
import logging
import signal
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from config.roles import UserRole
from dispatch.models import Member, MemberMessage
from dispatch.notifier import HEADER_IDEMPOTENCY, OUTBOX_ID, idempotency_key, notifier_deliver_due
from dispatch.notify import message_read, messages_for_order_dispatched
from tests.dispatch.test_sla_clock import build_world, make_incident, make_order
from tests.factories import make_user
from tests.workers import worker_env

WAIT_S = 30


class Gateway(BaseHTTPRequestHandler):
    """Answers each POST with the next status of `statuses` (the last one repeats), 200 with
    {"id": "gw-1"}; records what it received and whether the message's row was free of locks
    while it was called. `hold` makes it wait for `release` before answering."""

    statuses: list
    received: list
    lock_checks: list
    hold = False
    entered: threading.Event
    release: threading.Event

    def do_POST(self):  # noqa: N802 - http.server's naming
        cls = type(self)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        message_id = json.loads(body)["message_id"]
        try:
            cls.lock_checks.append(_row_lock_free(message_id))
        finally:
            connection.close()  # this thread's connection
        cls.received.append({"headers": dict(self.headers), "body": body, "at": timezone.now()})
        if cls.hold:
            cls.entered.set()
            cls.release.wait(WAIT_S)
        status = cls.statuses.pop(0) if len(cls.statuses) > 1 else cls.statuses[0]
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"id": "gw-1"}' if status == 200 else b'{"error": "busy"}')
        except OSError:
            pass  # the notifier was killed while we held its request

    def log_message(self, *args):
        pass


def _row_lock_free(message_id: int) -> bool:
    """From a connection of its own: lock the message row, NOWAIT. False if the notifier held it."""
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT id FROM dispatch_membermessage WHERE id = %s FOR UPDATE NOWAIT", [message_id])
            return True
    except DatabaseError:
        return False


@pytest.fixture
def gateway(settings):
    Gateway.statuses, Gateway.received, Gateway.lock_checks = [200], [], []
    Gateway.hold, Gateway.entered, Gateway.release = False, threading.Event(), threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/sms/send"
    settings.NOTIFY_GATEWAY_URL, settings.NOTIFY_GATEWAY_TOKEN = url, "gateway-token-1"
    yield url
    Gateway.release.set()
    server.shutdown()
    server.server_close()


def order_message(*, app: bool) -> MemberMessage:
    """A new order's message to the world's grid worker (linked to an app login if `app`)."""
    world = build_world()
    if app:
        make_user("resp", UserRole.RESPONDER, member=world["member"])
    member = Member.objects.get(pk=world["member"].pk)
    incident = make_incident(world, address_text="文一西路100号")
    order = make_order(world, incident, member, arrive_by=timezone.now() + timedelta(minutes=30))
    with transaction.atomic():
        (message,) = messages_for_order_dispatched(order)
    return message


# --- through the gateway ---------------------------------------------------------------------------

def test_retried_with_backoff_until_the_gateway_acknowledges(transactional_db, gateway, settings):
    settings.NOTIFY_GRACE_SECONDS, settings.NOTIFY_RETRY_BASE_SECONDS = 60, 15
    Gateway.statuses = [503, 503, 200]
    message = order_message(app=True)
    t0 = message.deliver_after
    assert t0 - message.created_at == timedelta(seconds=60)
    assert notifier_deliver_due(now=t0 - timedelta(seconds=1)) == 0  # the app's grace: not yet
    assert Gateway.received == []

    assert notifier_deliver_due(now=t0) == 1
    message.refresh_from_db()
    assert (message.state, message.attempts) == (MemberMessage.State.PENDING, 1)
    assert message.next_attempt_at == t0 + timedelta(seconds=15) and "busy" in message.last_error
    assert notifier_deliver_due(now=t0 + timedelta(seconds=14)) == 0  # backing off
    assert notifier_deliver_due(now=t0 + timedelta(seconds=15)) == 1
    message.refresh_from_db()
    assert message.attempts == 2 and message.next_attempt_at == t0 + timedelta(seconds=15 + 30)  # doubled
    assert notifier_deliver_due(now=t0 + timedelta(seconds=44)) == 0
    assert notifier_deliver_due(now=t0 + timedelta(seconds=45)) == 1

    message.refresh_from_db()
    assert (message.state, message.attempts, message.gateway_id) == (MemberMessage.State.SENT, 3, "gw-1")
    assert message.sent_at == t0 + timedelta(seconds=45) and message.last_error == ""
    attempts = list(message.attempt_log.values_list("at", "http_status", "ok"))
    assert attempts == [(t0, 503, False), (t0 + timedelta(seconds=15), 503, False),
                        (t0 + timedelta(seconds=45), 200, True)]
    assert notifier_deliver_due(now=t0 + timedelta(days=1)) == 0  # sent: never again

    # What the gateway saw: three tries of one message, one key, the token, the template's text.
    assert len(Gateway.received) == 3
    keys = {r["headers"][HEADER_IDEMPOTENCY] for r in Gateway.received}
    assert keys == {f"gridlink-message-{message.pk}"} == {idempotency_key(message.pk)}
    assert {r["headers"]["Authorization"] for r in Gateway.received} == {"Bearer gateway-token-1"}
    body = json.loads(Gateway.received[0]["body"])
    assert body == {"message_id": message.pk, "phone": message.member.phone, "member_code": message.member.code,
                    "text": f"【网事警情】{message.title}：{message.body}"}
    assert Gateway.received[0]["headers"]["Content-Type"] == "application/json; charset=utf-8"
    # No row lock held by the notifier while it called.
    assert Gateway.lock_checks == [True, True, True]


def test_a_message_read_in_the_app_within_its_grace_is_never_sent(transactional_db, gateway):
    message = order_message(app=True)
    assert message_read(message.member_id, message.pk) is not None
    assert message_read(message.member_id + 1000, message.pk) is None  # not theirs: nothing
    assert notifier_deliver_due(now=message.deliver_after) == 1
    message.refresh_from_db()
    assert message.state == MemberMessage.State.SKIPPED_READ and message.attempts == 0
    assert message.attempt_log.count() == 0 and Gateway.received == []
    assert notifier_deliver_due(now=message.deliver_after + timedelta(hours=1)) == 0


def test_a_member_no_longer_active_is_not_sent_to(transactional_db, gateway):
    message = order_message(app=False)
    Member.objects.filter(pk=message.member_id).update(active=False)
    assert notifier_deliver_due() == 1
    message.refresh_from_db()
    assert message.state == MemberMessage.State.SKIPPED_OFF and Gateway.received == []


def test_without_a_gateway_the_outbox_logs_it_and_marks_it_sent(db, settings, caplog):
    settings.NOTIFY_GATEWAY_URL = ""
    message = order_message(app=True)
    caplog.set_level(logging.INFO, logger="gridlink.outbox")
    assert notifier_deliver_due(now=message.deliver_after - timedelta(seconds=1)) == 0
    assert notifier_deliver_due(now=message.deliver_after) == 1
    (record,) = [r for r in caplog.records if r.name == "gridlink.outbox"]
    logged = record.getMessage()
    assert message.member.phone in logged and message.member.code in logged
    assert f"【网事警情】{message.title}：{message.body}" in logged
    message.refresh_from_db()
    assert (message.state, message.gateway_id, message.attempts) == (MemberMessage.State.SENT, OUTBOX_ID, 1)
    assert list(message.attempt_log.values_list("http_status", "ok")) == [(None, True)]
    assert notifier_deliver_due(now=message.deliver_after + timedelta(hours=1)) == 0


# --- a real notifier process, killed while the gateway holds its request -------------------------------

@pytest.fixture
def notifiers(workers):
    def start(name: str, url: str):
        env = worker_env(name, DB_POOL_MIN_SIZE="0", NOTIFY_GATEWAY_URL=url, NOTIFY_GATEWAY_TOKEN="gateway-token-1",  # noqa: S106 - a test token
                         # a short lease, so that the restarted notifier takes the message over in
                         # seconds: 2 x 3 s per claimed message + 1 s
                         NOTIFY_TIMEOUT_SECONDS="3", NOTIFY_LEASE_MARGIN_SECONDS="1")
        return workers(name, "run_notifier", "--interval", "0.2", env=env)

    return start


def test_a_notifier_killed_during_the_call_delivers_once_after_a_restart(transactional_db, gateway, notifiers):
    message = order_message(app=False)  # no app login: due at once
    Gateway.hold = True
    first = notifiers("gl-notifier-first", gateway)
    try:
        assert Gateway.entered.wait(120), f"the notifier never called the gateway\n{first.tail()}"
    finally:
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(WAIT_S)
    assert first.process.returncode == -signal.SIGKILL
    Gateway.hold = False
    Gateway.release.set()
    leased = MemberMessage.objects.get(pk=message.pk)
    # Killed between claim and record: nothing recorded, the message pending under its lease.
    assert (leased.state, leased.attempts, leased.attempt_log.count()) == (MemberMessage.State.PENDING, 0, 0)
    assert leased.next_attempt_at > timezone.now()

    second = notifiers("gl-notifier-second", gateway)
    deadline = time.monotonic() + 60
    while MemberMessage.objects.get(pk=message.pk).state != MemberMessage.State.SENT:
        assert second.process.poll() is None, second.tail()
        assert time.monotonic() < deadline, f"never sent\n{second.tail()}"
        time.sleep(0.1)
    time.sleep(1.0)  # a few more passes: nothing more may be sent
    second.stop()
    assert second.process.returncode == 0, second.tail()

    # Exactly once in our records: one message, sent once, one recorded attempt (the killed call
    # was never recorded) ...
    sent = MemberMessage.objects.get(pk=message.pk)
    assert MemberMessage.objects.count() == 1
    assert (sent.state, sent.attempts, sent.gateway_id) == (MemberMessage.State.SENT, 1, "gw-1")
    assert list(sent.attempt_log.values_list("http_status", "ok")) == [(200, True)]
    # ... at least once toward the gateway: the same key twice, the second only after the lease ran out.
    keys = [r["headers"][HEADER_IDEMPOTENCY] for r in Gateway.received]
    assert keys == [idempotency_key(message.pk)] * 2
    assert Gateway.received[1]["at"] >= leased.next_attempt_at - timedelta(seconds=0.5)
