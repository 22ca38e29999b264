"""Idempotency keys of the API's actions: a phone replays its offline queue safely.

A client may send `Idempotency-Key: <1–128 printable ASCII characters>` with any POST of an action
view (the views that list `IdempotentMixin` first among their bases). The first request with a key
runs as usual; its answer — 2xx and 4xx alike, so a refused action replays as refused — is stored
with the key, in the same transaction as the action's changes. A repeat by the same user with the
same key, method, path (with its query string) and body (SHA-256 of the exact bytes) runs nothing
and answers the stored status and body with the header `Idempotent-Replayed: true`. A multipart
body (photos with a report) is fingerprinted by what it carries, not by its bytes — its boundary is
new at every send: the fields by name with their values, the files by field name with the SHA-256
and size of their content (never their file names). The same key
with another path or body answers 422 and changes nothing. A 5xx (or an exception) stores nothing:
the key is free again, and the client may retry. Without the header nothing changes.

How: when the header is present the view runs inside one transaction. After authentication and the
role check (a 401/403 there is not recorded: no action was attempted), one statement inserts the
key's row with no answer yet — `INSERT … ON CONFLICT (user, key) DO UPDATE … WHERE expired
RETURNING id`. The unique (user, key) decides: the first request gets the row, and a concurrent
identical request blocks in that statement until the first one commits (then it reads the stored
answer and replays it) or rolls back (then its insert succeeds and it runs the action itself). The
action runs in a savepoint after the claim; a 4xx answer rolls the savepoint back before the answer
is stored (nothing of a refused action survives), then the transaction commits the key row and the
action's changes together.

Expiry: a key is honoured for settings.IDEMPOTENCY_KEY_HOURS (336: 14 days) after its first use; an
older row is taken over as if new. The window is long because a phone's outbox never drops an
action: it may hold one through days without signal or a member's days off (the app's page gets
the window and holds an entry near its end until the member sends it anyway or discards it). The
same statement purges up to IDEMPOTENCY_PURGE_BATCH (100) expired rows of anybody (oldest first,
SKIP LOCKED, index on created_at) — lazily on write, no worker needed.

The member an action was taken by: a phone shared by a shift keeps each member's actions in one
outbox and sends a member's only under their login — but a page of member A still open (or served
from the offline cache) after member B logged in would send A's under B's session. So the phone
names the member with every queued action, `X-GridLink-Member: <member id>`; when the header is
present, the logged-in user's active member must be that one. Otherwise the answer is 409
`{"detail", "code": "wrong_member"}` before anything runs and before the key is looked at (nothing
recorded: the same request from the right login runs as new). Without the header nothing changes.

The reveals (`parties/{id}/reveal/`, `incidents/{id}/reveal/`) are not covered: every disclosure of
an ID number, a name or a phone is recorded again, and the full values are never kept in a second
table.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response
from rest_framework.schemas.inspectors import ViewInspector
from rest_framework.utils.encoders import JSONEncoder

from config.errors import DomainError
from dispatch.models import Member
from incidents.models import IdempotentRequest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MEMBER_HEADER = "X-GridLink-Member"
KEY_RE = re.compile(r"[\x20-\x7e]{1,128}")

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER, OpenApiTypes.STR, location=OpenApiParameter.HEADER, required=False,
    description="1–128 printable ASCII characters, new for each action (a phone's offline queue keeps it with "
                "the queued request). A repeat with the same key, path and body runs nothing and answers the "
                "first answer again (2xx or 4xx) with `Idempotent-Replayed: true`; the same key with another "
                "path or body answers 422. Honoured for IDEMPOTENCY_KEY_HOURS (336 h = 14 days by default) per user.")

MEMBER_PARAMETER = OpenApiParameter(
    MEMBER_HEADER, OpenApiTypes.INT, location=OpenApiParameter.HEADER, required=False,
    description="The member who took the action (a shared phone's outbox sends it). When present, the "
                "logged-in user's active member must be this one; otherwise 409 `wrong_member`, nothing run "
                "and the Idempotency-Key not recorded.")

_TABLE = IdempotentRequest._meta.db_table

# Take the key: insert its row (no answer yet), or take over an expired row; purge a few expired
# rows of anybody on the way. Returns the row id when this request owns the key, nothing when a
# live row exists (after waiting for the transaction that inserted it).
_CLAIM_SQL = f"""
WITH purged AS (
    DELETE FROM {_TABLE} WHERE id IN (
        SELECT id FROM {_TABLE}
        WHERE created_at < %(cutoff)s AND NOT (user_id = %(user)s AND key = %(key)s)
        ORDER BY created_at LIMIT %(purge)s FOR UPDATE SKIP LOCKED)
)
INSERT INTO {_TABLE} AS r (user_id, key, method, path, body_hash, response_status, response_body, created_at)
VALUES (%(user)s, %(key)s, %(method)s, %(path)s, %(hash)s, NULL, NULL, %(now)s)
ON CONFLICT (user_id, key) DO UPDATE
    SET method = excluded.method, path = excluded.path, body_hash = excluded.body_hash,
        response_status = NULL, response_body = NULL, created_at = excluded.created_at
    WHERE r.created_at < %(cutoff)s
RETURNING r.id
"""  # noqa: S608 - the table name is our model's, every value a parameter


class IdempotentSchema(AutoSchema):
    """Documents the `Idempotency-Key` header on the POST operations of an idempotent view."""

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self.method == "POST":
            parameters = [*parameters, IDEMPOTENCY_KEY_PARAMETER, MEMBER_PARAMETER]
        return parameters


class _Replay(Exception):
    """Not an error: carries the stored answer out of `initial` to `handle_exception`."""

    def __init__(self, response: Response):
        super().__init__("replay")
        self.response = response


@dataclass
class _Claim:
    key: str
    method: str
    path: str
    body_hash: str | None  # None: a multipart body, fingerprinted once DRF has parsed it
    row_id: int | None = None
    savepoint: str | None = None


def _claim(claim: _Claim, *, user) -> None:
    """Own the key (sets row_id and opens the action's savepoint), or raise: _Replay with the stored
    answer, DomainError 422 for the same key with another request."""
    if not KEY_RE.fullmatch(claim.key):
        raise DomainError(_("The Idempotency-Key header is 1 to 128 printable ASCII characters."),
                          code="idempotency_key")
    now = timezone.now()
    params = {"user": user.pk, "key": claim.key, "method": claim.method, "path": claim.path, "hash": claim.body_hash,
              "now": now, "cutoff": now - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS),
              "purge": settings.IDEMPOTENCY_PURGE_BATCH}
    with connection.cursor() as cur:
        cur.execute(_CLAIM_SQL, params)
        row = cur.fetchone()
    if row is not None:
        claim.row_id = row[0]
        claim.savepoint = transaction.savepoint()
        return
    stored = (IdempotentRequest.objects.filter(user=user, key=claim.key)
              .values("method", "path", "body_hash", "response_status", "response_body").first())
    if stored is None or stored["response_status"] is None:  # cannot happen: the owner stores or rolls back
        raise DomainError(_("A request with this Idempotency-Key is still being processed; try again."),
                          code="idempotency_key_in_progress", http_status=409)
    if (stored["method"], stored["path"], stored["body_hash"]) != (claim.method, claim.path, claim.body_hash):
        raise DomainError(_("This Idempotency-Key was used for a different request (another address or body); "
                            "send a new key with a new action."), code="idempotency_key_reused", http_status=422)
    raise _Replay(Response(stored["response_body"], status=stored["response_status"],
                           headers={REPLAYED_HEADER: "true"}))


def _check_member(request) -> None:
    """The action's member (`X-GridLink-Member`, when sent) is the logged-in user's active member, or
    DomainError 409 `wrong_member`."""
    named = request.headers.get(MEMBER_HEADER)
    if named is None:
        return
    user = request.user
    mine = (Member.objects.filter(user=user, active=True).values_list("pk", flat=True).first()
            if user.is_authenticated else None)
    if mine is None or named.strip() != str(mine):
        raise DomainError(_("This action was saved on the phone by another member: it is sent when they log in "
                            "again on this phone."), code="wrong_member", http_status=409)


def _multipart_fingerprint(request) -> str:
    """SHA-256 of a parsed multipart body: each field's values and each file's content digest and
    size, by field name (sorted; repeated values in their order). The same form sent again with
    another boundary, or with other file names, has the same fingerprint."""
    digest = hashlib.sha256(b"multipart\n")
    data = request.data
    for name in sorted(data.keys()):
        for value in data.getlist(name):
            if isinstance(value, UploadedFile):
                content = hashlib.sha256()
                for chunk in value.chunks():
                    content.update(chunk)
                value.seek(0)
                part = ["file", name, content.hexdigest(), value.size]
            else:
                part = ["field", name, str(value)]
            digest.update(json.dumps(part, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


def _settle(claim: _Claim, response) -> None:
    """Store the answer of the request that owns the key, or give the key up (5xx)."""
    if claim.row_id is None:
        return
    status = response.status_code
    if status >= 500:
        transaction.set_rollback(True)  # neither the action nor the key: the client may retry
        return
    savepoint = cast(str, claim.savepoint)  # opened by _claim together with row_id
    if status >= 400:
        transaction.savepoint_rollback(savepoint)  # a refused action leaves nothing behind
    else:
        transaction.savepoint_commit(savepoint)
    body = getattr(response, "data", None)
    body = None if body is None else json.loads(json.dumps(body, cls=JSONEncoder))
    IdempotentRequest.objects.filter(pk=claim.row_id).update(response_status=status, response_body=body)


class IdempotentMixin:
    """For DRF views whose POST changes state: honours the `Idempotency-Key` header (see the module
    docstring) and documents it in the OpenAPI schema. List it before the view class."""

    # Typed as APIView types it: the mixin is listed before a view class, whose attribute it overrides.
    schema: ViewInspector | None = IdempotentSchema()

    def dispatch(self, request, *args, **kwargs):
        key = request.headers.get(HEADER) if request.method == "POST" else None
        if key is None:
            return super().dispatch(request, *args, **kwargs)
        # The body is read (and cached by Django) before DRF parses it; a multipart body (files) is
        # left to DRF's parsers and fingerprinted by its content in `initial`.
        multipart = request.content_type == "multipart/form-data"
        self._idempotency = _Claim(key=key, method=request.method, path=request.get_full_path(),
                                   body_hash=None if multipart else hashlib.sha256(request.body).hexdigest())
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            _settle(self._idempotency, response)
        return response

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, roles, throttles
        if request.method == "POST":
            _check_member(request)  # before the key: a refusal here is not recorded
        claim = getattr(self, "_idempotency", None)
        if claim is not None and request.user.is_authenticated:
            if claim.body_hash is None:
                claim.body_hash = _multipart_fingerprint(request)
            _claim(claim, user=request.user)

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return exc.response
        return super().handle_exception(exc)
