"""Result callbacks to the district linkage centre: signed, posted outside any transaction, retried
with backoff until acknowledged.

The worker (`manage.py run_feedback_worker`) runs `feedback_deliver_due` in three steps:

1. **Claim** — one short transaction takes the due pending deliveries with SKIP LOCKED and pushes
   their `next_attempt_at` forward by a lease, then commits. Another worker skips them until the
   lease runs out. A channel without a signing secret gets one here.
2. **Call** — the HTTP POSTs, with no transaction open and no row locked.
3. **Record** — per delivery, one short transaction locks the row, writes the FeedbackAttempt and
   marks the delivery delivered or schedules the next try.

A worker killed between claim and record leaves the delivery pending: it is posted again once the
lease has run out. Delivery is therefore *at least once*: the receiver de-duplicates by the
`X-GridLink-Delivery` header (the delivery id).

Every callback is signed (`callback_signature`): the body is the exact JSON bytes sent, and

    X-GridLink-Delivery:  <delivery id>
    X-GridLink-Timestamp: <unix seconds>
    X-GridLink-Signature: sha256=<hex HMAC-SHA256(channel secret, "<timestamp>." + body)>

The district centre checks it with `callback_verify` (or the same few lines in its own language).
The secret is per channel (`Channel.callback_secret`), printed by `manage.py callback_secret CODE`.
"""

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.inputs import ascii_int
from incidents.events import event_append
from incidents.locks import incident_lock_one
from incidents.models import Channel, FeedbackAttempt, FeedbackDelivery, IncidentEvent

HEADER_DELIVERY = "X-GridLink-Delivery"
HEADER_TIMESTAMP = "X-GridLink-Timestamp"
HEADER_SIGNATURE = "X-GridLink-Signature"
SIGNATURE_SCHEME = "sha256="
CONTENT_TYPE = "application/json; charset=utf-8"
LEASE_MARGIN_S = 30


# --- signing: what we send and what the district centre runs -----------------------------------

def callback_body(payload: dict) -> bytes:
    """The exact bytes posted (and signed): compact UTF-8 JSON with sorted keys."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def callback_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """The X-GridLink-Signature value: `sha256=` and the hex HMAC-SHA256, keyed with the channel's
    secret, of the timestamp header, a dot, and the raw body."""
    if not secret:
        raise ValueError("a callback is signed with the channel's secret; it is empty")
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_SCHEME + digest


def callback_verify(*, secret: str, timestamp: str, body: bytes, signature: str,
                    now: datetime | float | None = None, tolerance_s: int = 300) -> bool:
    """What the district centre runs on each callback, with the raw request body and the headers
    X-GridLink-Timestamp and X-GridLink-Signature: True only when the signature is ours for this
    body (constant-time comparison) and the timestamp is within `tolerance_s` of `now` (default:
    the clock), which refuses a replayed old callback. Then de-duplicate by X-GridLink-Delivery."""
    sent_at = ascii_int(timestamp or "", minimum=0)
    if not secret or sent_at is None or not signature:
        return False
    if now is None:
        now_s = time.time()
    elif isinstance(now, datetime):
        now_s = now.timestamp()
    else:
        now_s = float(now)
    if abs(now_s - sent_at) > tolerance_s:
        return False
    expected = callback_signature(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


def channel_secret_issue(channel: Channel, *, rotate: bool = False) -> str:
    """The channel's callback signing secret, created when empty; `rotate` replaces it (callbacks
    signed afterwards use the new one). Locks the channel row, so two workers never create two:
    FOR NO KEY UPDATE, which the reports inserted meanwhile (FOR KEY SHARE of their channel) do
    not wait for (incidents/locks.py)."""
    with transaction.atomic():
        locked = Channel.objects.select_for_update(no_key=True).get(pk=channel.pk)
        if rotate or not locked.callback_secret:
            locked.callback_secret = secrets.token_urlsafe(32)
            locked.save(update_fields=["callback_secret"])
    channel.callback_secret = locked.callback_secret
    return locked.callback_secret


def secret_mask(secret: str) -> str:
    """A secret as shown in the admin: its last four characters only."""
    return "•" * 8 + secret[-4:] if secret else ""


# --- delivery ----------------------------------------------------------------------------------

def _backoff(attempts: int) -> timedelta:
    seconds = settings.FEEDBACK_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.FEEDBACK_RETRY_MAX_SECONDS))


def _call_bound_s() -> float:
    """How long one call may take (connect, then write and read, each up to the timeout)."""
    return settings.FEEDBACK_TIMEOUT_SECONDS * 2


def _lease_s(count: int) -> float:
    """The lease of a claim of `count` deliveries, posted one after another."""
    return _call_bound_s() * count + LEASE_MARGIN_S


@dataclass(frozen=True)
class _Claim:
    pk: int
    url: str
    body: bytes
    secret: str


def feedback_deliver_due(*, now: datetime | None = None, limit: int = 20) -> int:
    """Post every due result delivery to its callback URL, signed; a 2xx answer acknowledges it,
    anything else schedules the next try with exponential backoff. Claims are leased (see the
    module docstring), so several workers never post the same delivery at the same time, and no
    HTTP call runs inside a transaction. Call it outside any transaction. Returns how many
    deliveries were attempted."""
    now = now or timezone.now()
    claims, lease_until = _claim(now, limit)
    if not claims:
        return 0
    started, lease_s = time.monotonic(), _lease_s(len(claims))
    with httpx.Client(timeout=settings.FEEDBACK_TIMEOUT_SECONDS) as client:
        for done, claim in enumerate(claims):
            if time.monotonic() - started + _call_bound_s() > lease_s:  # would outlive the lease
                _release(claims[done:], lease_until, now)
                return done
            status, error, ok = _call(client, claim)
            _record(claim.pk, now=now, status=status, error=error, ok=ok, lease_until=lease_until)
    return len(claims)


def _claim(now: datetime, limit: int) -> tuple[list[_Claim], datetime]:
    with transaction.atomic():
        due = list(FeedbackDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                   .filter(state=FeedbackDelivery.State.PENDING, next_attempt_at__lte=now)
                   .select_related("report__channel").order_by("next_attempt_at", "id")[:limit])
        lease_until = now + timedelta(seconds=_lease_s(len(due)))
        if not due:
            return [], lease_until
        FeedbackDelivery.objects.filter(pk__in=[d.pk for d in due]).update(next_attempt_at=lease_until)
        channels = {d.report.channel_id: d.report.channel for d in due}
        for channel_id in sorted(channels):  # in id order: two workers never wait on each other
            if not channels[channel_id].callback_secret:
                channel_secret_issue(channels[channel_id])
        claims = [_Claim(pk=d.pk, url=d.url, body=callback_body(d.payload),
                         secret=channels[d.report.channel_id].callback_secret) for d in due]
    return claims, lease_until


def _release(claims: list[_Claim], lease_until: datetime, now: datetime) -> None:
    """Hand back deliveries not posted in time: due again, unless another worker has them."""
    FeedbackDelivery.objects.filter(pk__in=[c.pk for c in claims], state=FeedbackDelivery.State.PENDING,
                                    next_attempt_at=lease_until).update(next_attempt_at=now)


def _call(client: httpx.Client, claim: _Claim) -> tuple[int | None, str, bool]:
    """One signed POST, no transaction open. Returns the HTTP status, the error, and whether it
    was acknowledged."""
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": CONTENT_TYPE,
        HEADER_DELIVERY: str(claim.pk),
        HEADER_TIMESTAMP: timestamp,
        HEADER_SIGNATURE: callback_signature(secret=claim.secret, timestamp=timestamp, body=claim.body),
    }
    try:
        response = client.post(claim.url, content=claim.body, headers=headers)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500], False
    ok = 200 <= response.status_code < 300
    return response.status_code, "" if ok else response.text[:200], ok


def _record(pk: int, *, now: datetime, status: int | None, error: str, ok: bool, lease_until: datetime) -> None:
    """Write the attempt; reschedule only a delivery still under our lease (after it ran out,
    another worker may have claimed it: its schedule is its own)."""
    with transaction.atomic():
        # The case first (its events are appended below), then the delivery: incidents/locks.py.
        incident_id = FeedbackDelivery.objects.filter(pk=pk).values_list("incident_id", flat=True).get()
        incident = incident_lock_one(incident_id, related=("subdistrict",))
        delivery = FeedbackDelivery.objects.select_for_update(of=("self",)).get(pk=pk)
        delivery.incident = incident
        FeedbackAttempt.objects.create(delivery=delivery, at=now, http_status=status, error=error, ok=ok)
        delivery.attempts += 1
        if delivery.state == FeedbackDelivery.State.DELIVERED:
            # Another worker posted it after our lease ran out and was acknowledged first.
            delivery.save(update_fields=["attempts"])
            return
        if ok:
            delivery.state, delivery.delivered_at = FeedbackDelivery.State.DELIVERED, now
            event_append(incident=delivery.incident, kind=IncidentEvent.Kind.FEEDBACK_DELIVERED,
                         data={"delivery": delivery.pk, "attempts": delivery.attempts}, at=now)
        elif delivery.next_attempt_at != lease_until:
            delivery.save(update_fields=["attempts"])
            return
        else:
            delivery.next_attempt_at = now + _backoff(delivery.attempts)
            if delivery.attempts == 1:
                event_append(incident=delivery.incident, kind=IncidentEvent.Kind.FEEDBACK_FAILED, note=error,
                             data={"delivery": delivery.pk, "http_status": status,
                                   "next_attempt_at": delivery.next_attempt_at.isoformat()}, at=now)
        delivery.save(update_fields=["attempts", "state", "delivered_at", "next_attempt_at"])
