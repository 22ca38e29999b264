"""The outbound notifier: a member's message not read in the app within its grace is sent through
the gateway (SMS, or a government messaging app) — `manage.py run_notifier`, started beside the
server. The protocol is the feedback worker's (`incidents/feedback.py`):

1. **Claim** — one short transaction takes the due pending messages (`next_attempt_at` passed;
   the first time that is `deliver_after`, the grace) with SKIP LOCKED. Those read in the app
   meanwhile become `skipped_read`, those with nobody to send to (no phone, member no longer
   active) `skipped_off`; the rest are leased (`next_attempt_at` pushed 2 x
   NOTIFY_TIMEOUT_SECONDS per claimed message + NOTIFY_LEASE_MARGIN_SECONDS ahead), so no other
   notifier takes them, and the transaction commits.
2. **Call** — the HTTP POSTs, with no transaction open and no row locked.
3. **Record** — per message, one short transaction locks the row, writes the MessageAttempt and
   marks it sent (with the gateway's id) or schedules the next try with exponential backoff
   (NOTIFY_RETRY_BASE_SECONDS, doubling, capped at NOTIFY_RETRY_MAX_SECONDS; never given up).

A notifier killed between claim and record leaves the message pending; it is posted again when the
lease runs out. Toward the gateway delivery is therefore *at least once*: every request carries
`Idempotency-Key: gridlink-message-<id>`, the same on every try of one message, and the gateway
de-duplicates by it. In our records it is *exactly once*: one message row per event and recipient
(unique constraints), marked sent once.

The request: `POST NOTIFY_GATEWAY_URL`, `Authorization: Bearer NOTIFY_GATEWAY_TOKEN` (when set),
`Content-Type: application/json; charset=utf-8`, body `{"message_id", "phone", "text",
"member_code"}` with `text` = NOTIFY_TEMPLATE filled with the message's {title} and {body}. Any
2xx is the gateway's acknowledgement; an `"id"` in its JSON answer is kept as `gateway_id`.

Without NOTIFY_GATEWAY_URL the outbox stands in for the gateway: each due message is written to the
log `gridlink.outbox` (member, phone, text) and marked sent with `gateway_id="outbox"`, so that an
operator sees it there and in the admin (messages to members).
"""

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dispatch.models import MemberMessage, MessageAttempt

log = logging.getLogger("gridlink.notifier")
outbox_log = logging.getLogger("gridlink.outbox")

HEADER_IDEMPOTENCY = "Idempotency-Key"
CONTENT_TYPE = "application/json; charset=utf-8"
OUTBOX_ID = "outbox"
DEFAULT_TEMPLATE = "【网事警情】{title}：{body}"


def idempotency_key(message_id: int) -> str:
    return f"gridlink-message-{message_id}"


def message_text(title: str, body: str) -> str:
    """The outbound text: NOTIFY_TEMPLATE with {title} and {body} (the default when it is broken)."""
    try:
        return settings.NOTIFY_TEMPLATE.format(title=title, body=body)
    except (KeyError, IndexError, ValueError):
        log.error("NOTIFY_TEMPLATE %r is not a template of {title} and {body}: the default is used",
                  settings.NOTIFY_TEMPLATE)
        return DEFAULT_TEMPLATE.format(title=title, body=body)


def _backoff(attempts: int) -> timedelta:
    seconds = settings.NOTIFY_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.NOTIFY_RETRY_MAX_SECONDS))


def _call_bound_s() -> float:
    """How long one call may take (connect, then write and read, each up to the timeout)."""
    return settings.NOTIFY_TIMEOUT_SECONDS * 2


def _lease_s(count: int) -> float:
    return _call_bound_s() * count + settings.NOTIFY_LEASE_MARGIN_SECONDS


@dataclass(frozen=True)
class _Claim:
    pk: int
    phone: str
    text: str
    member_code: str
    member_name: str

    def body(self) -> bytes:
        payload = {"message_id": self.pk, "phone": self.phone, "text": self.text, "member_code": self.member_code}
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def notifier_deliver_due(*, now: datetime | None = None, limit: int = 50) -> int:
    """Send every due message (through the gateway, or to the outbox without one); returns how
    many were handled (sent, tried, or skipped). Call it outside any transaction."""
    now = now or timezone.now()
    claims, skipped, lease_until = _claim(now, limit)
    if not claims:
        return skipped
    url = settings.NOTIFY_GATEWAY_URL
    if not url:
        for claim in claims:
            outbox_log.info("outbox: to %s %s (%s), message %s: %s", claim.member_code, claim.member_name,
                            claim.phone, claim.pk, claim.text)
            _record(claim.pk, now=now, status=None, error="", ok=True, gateway_id=OUTBOX_ID, lease_until=lease_until)
        return skipped + len(claims)
    started, lease_s = time.monotonic(), _lease_s(len(claims))
    with httpx.Client(timeout=settings.NOTIFY_TIMEOUT_SECONDS) as client:
        for done, claim in enumerate(claims):
            if time.monotonic() - started + _call_bound_s() > lease_s:  # would outlive the lease
                _release(claims[done:], lease_until, now)
                return skipped + done
            status, error, ok, gateway_id = _call(client, url, claim)
            _record(claim.pk, now=now, status=status, error=error, ok=ok, gateway_id=gateway_id,
                    lease_until=lease_until)
    return skipped + len(claims)


def _claim(now: datetime, limit: int) -> tuple[list[_Claim], int, datetime]:
    """(the leased claims, how many were skipped, the lease's end)."""
    with transaction.atomic():
        due = list(MemberMessage.objects.select_for_update(skip_locked=True, of=("self",))
                   .filter(state=MemberMessage.State.PENDING, next_attempt_at__lte=now, deliver_after__lte=now)
                   .select_related("member").order_by("next_attempt_at", "id")[:limit])
        read = [m.pk for m in due if m.read_at is not None]
        nobody = [m.pk for m in due if m.read_at is None and not (m.member.active and m.member.phone.strip())]
        if read:
            MemberMessage.objects.filter(pk__in=read).update(state=MemberMessage.State.SKIPPED_READ)
        if nobody:
            MemberMessage.objects.filter(pk__in=nobody).update(state=MemberMessage.State.SKIPPED_OFF)
        send = [m for m in due if m.pk not in read and m.pk not in nobody]
        lease_until = now + timedelta(seconds=_lease_s(len(send)))
        if send:
            MemberMessage.objects.filter(pk__in=[m.pk for m in send]).update(next_attempt_at=lease_until)
        claims = [_Claim(pk=m.pk, phone=m.member.phone.strip(), text=message_text(m.title, m.body),
                         member_code=m.member.code, member_name=m.member.name) for m in send]
    return claims, len(read) + len(nobody), lease_until


def _release(claims: list[_Claim], lease_until: datetime, now: datetime) -> None:
    """Hand back messages not posted in time: due again, unless another notifier has them."""
    MemberMessage.objects.filter(pk__in=[c.pk for c in claims], state=MemberMessage.State.PENDING,
                                 next_attempt_at=lease_until).update(next_attempt_at=now)


def _call(client: httpx.Client, url: str, claim: _Claim) -> tuple[int | None, str, bool, str]:
    """One POST to the gateway, no transaction open. Returns the HTTP status, the error, whether
    it was acknowledged, and the gateway's id of the message (when its JSON answer has one)."""
    headers = {"Content-Type": CONTENT_TYPE, HEADER_IDEMPOTENCY: idempotency_key(claim.pk)}
    if settings.NOTIFY_GATEWAY_TOKEN:
        headers["Authorization"] = f"Bearer {settings.NOTIFY_GATEWAY_TOKEN}"
    try:
        response = client.post(url, content=claim.body(), headers=headers)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500], False, ""
    if not 200 <= response.status_code < 300:
        return response.status_code, response.text[:200], False, ""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    gateway_id = answer.get("id") if isinstance(answer, dict) else None
    return response.status_code, "", True, "" if gateway_id is None else str(gateway_id)[:128]


def _record(pk: int, *, now: datetime, status: int | None, error: str, ok: bool, gateway_id: str,
            lease_until: datetime) -> None:
    """Write the attempt; reschedule only a message still under our lease (after it ran out,
    another notifier may have claimed it: its schedule is its own)."""
    with transaction.atomic():
        message = MemberMessage.objects.select_for_update(of=("self",)).get(pk=pk)
        MessageAttempt.objects.create(message=message, at=now, http_status=status, error=error, ok=ok)
        message.attempts += 1
        if message.state != MemberMessage.State.PENDING:
            # Another notifier sent it after our lease ran out and was acknowledged first.
            message.save(update_fields=["attempts"])
            return
        if ok:
            message.state, message.sent_at, message.gateway_id, message.last_error = (
                MemberMessage.State.SENT, now, gateway_id, "")
        elif message.next_attempt_at != lease_until:
            message.save(update_fields=["attempts"])
            return
        else:
            message.next_attempt_at, message.last_error = now + _backoff(message.attempts), error
            log.warning("message %s: the gateway answered %s (attempt %d); next try at %s",
                        pk, status, message.attempts, message.next_attempt_at.isoformat())
        message.save(update_fields=["attempts", "state", "sent_at", "gateway_id", "last_error", "next_attempt_at"])
