"""Logins: throttled by django-axes, and the password hash kept from starving everyone else.

Two defences, for two attacks:

1. Guessing one account (or many accounts from one address). django-axes records every failed login
   (`AccessAttempt`, in the admin) and refuses further attempts, before any password is hashed, once
   a user name has failed AXES_FAILURE_LIMIT times from one address, or an address has failed
   LOGIN_ADDRESS_FAILURE_LIMIT times over all user names (`LoginAttemptHandler`), within the cool-off
   (AXES_COOLOFF_TIME). By user *and* address, so that a guesser elsewhere cannot lock a dispatcher
   out of their own desk; the address cap is higher because a command room may sit behind one NAT
   address. The lockout page says so in the user's language (`lockout_response`); an administrator
   unlocks by deleting the access attempts in the admin (Axes › Access attempts).

2. Spending the server's CPU. Each password check costs one PBKDF2 run (about 0.6 s of one core,
   by design), also for an unknown user name (Django hashes anyway, so that timing does not tell
   which names exist). Ten guesses in parallel, each from a fresh address and name so that no
   lockout applies, would take every core and slow every API call of the command room a
   hundredfold. `HashLimitedBackend` lets at most LOGIN_HASH_CONCURRENCY password checks run at
   once per server process; a login that cannot get a slot within LOGIN_HASH_WAIT_SECONDS is
   answered 503 with Retry-After (`LoginBusy`, `LoginBusyMiddleware`) instead of queueing more CPU
   work. A legitimate user waits a moment and tries again; the rest of the system keeps its cores.
"""

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_failure_limit, get_lockout_message
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connections
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext as _

from config.middleware import API_PREFIXES
from config.roles import prime_roles

# ---- the client's address ------------------------------------------------------------------------


def client_ip(request: HttpRequest) -> str | None:
    """The address a login came from (axes' AXES_CLIENT_IP_CALLABLE).

    Direct (TRUSTED_PROXY_COUNT = 0, the default): the peer address. Behind N reverse proxies that
    each append the address they saw to X-Forwarded-For: the N-th entry from the right, the one the
    outermost of our proxies saw. Entries further left are whatever the client sent and are never
    trusted. (uvicorn itself already takes X-Forwarded-For from a proxy on 127.0.0.1, see its
    --forwarded-allow-ips: then REMOTE_ADDR is the client and the count stays 0.)"""
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR") or None


# ---- lockout by user and address, and a cap per address ------------------------------------------


class LoginAttemptHandler(AxesDatabaseHandler):
    """Axes' database handler (lockout by user name and address, AXES_LOCKOUT_PARAMETERS) with a
    second, higher cap on the failures of one address over all user names.

    Axes compares one failure count with one limit; this handler reports the limit as reached
    when the address has used up its own cap, so that axes' lockout (refusal before hashing, the
    lockout response, the user_locked_out signal) applies unchanged."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        failures = super().get_failures(request, credentials)
        limit = get_failure_limit(request, credentials)
        if failures < limit and self.address_failures(request) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            return limit
        return failures

    @staticmethod
    def address_failures(request) -> int:
        address = getattr(request, "axes_ip_address", None)
        if not address:
            return 0
        attempts = AccessAttempt.objects.filter(ip_address=address)
        if get_cool_off(request) is not None:
            attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
        return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The answer to a locked-out login (AXES_LOCKOUT_CALLABLE): 429 with Retry-After, the login
    page with the reason for a browser, `{"detail", "code"}` for an API client.

    The arguments after `request` are not used: axes' async middleware passes them in another
    order than its sync one."""
    cool_off = get_cool_off(request)
    retry_after = max(1, int(cool_off.total_seconds())) if cool_off is not None else None
    return login_refusal(request, _lockout_message(cool_off), code="locked_out", status=429, retry_after=retry_after)


def login_refusal(request: HttpRequest, message: str, *, code: str, status: int,
                  retry_after: int | None) -> HttpResponse:
    """A refused login: `{"detail", "code"}` for an API client, the login page with the reason for
    a browser; with Retry-After when known."""
    if request.path.startswith(API_PREFIXES) or request.headers.get("x-requested-with") == "XMLHttpRequest":
        response: HttpResponse = JsonResponse({"detail": message, "code": code}, status=status)
    else:
        context = {
            "form": AuthenticationForm(request),
            "lockout_message": message,
            "next": request.POST.get("next", "") if request.method == "POST" else "",
        }
        response = render(request, "registration/login.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _lockout_message(cool_off: timedelta | None) -> str:
    if cool_off is None:
        return str(get_lockout_message())
    minutes = max(1, round(cool_off.total_seconds() / 60))
    return _("Too many failed logins: this login is locked for %(minutes)s minutes. Try again later, "
             "or ask an administrator to unlock it.") % {"minutes": minutes}


# ---- bounded password hashing ---------------------------------------------------------------------


class LoginBusy(Exception):  # noqa: N818 - a state, not a failure of the caller
    """No password-check slot became free in time (see the module docstring, 2)."""


_slots_lock = threading.Lock()
_slots: tuple[int, threading.BoundedSemaphore] | None = None


def hash_slots() -> threading.BoundedSemaphore:
    """The process-wide semaphore of LOGIN_HASH_CONCURRENCY slots (made again if the setting changed,
    as tests do)."""
    global _slots
    size = max(1, settings.LOGIN_HASH_CONCURRENCY)
    with _slots_lock:
        if _slots is None or _slots[0] != size:
            _slots = (size, threading.BoundedSemaphore(size))
        return _slots[1]


# ---- the password hash on threads of lower CPU priority ----------------------------------------------

LOGIN_HASH_NICENESS = 10  # added to the process's niceness for the hashing threads (Linux: per thread)
_pool_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _lower_this_threads_priority() -> None:
    try:  # on Linux a thread's id is a process id for setpriority: only this thread is lowered
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                       os.getpriority(os.PRIO_PROCESS, 0) + LOGIN_HASH_NICENESS)
    except (AttributeError, OSError):  # elsewhere the hash keeps the request's priority
        pass


def hashing_pool() -> ThreadPoolExecutor:
    """The threads that compute password hashes, at lower CPU priority than the request threads."""
    global _pool
    size = max(1, settings.LOGIN_HASH_CONCURRENCY)
    with _pool_lock:
        if _pool is None or _pool[0] != size:  # made again if the setting changed, as tests do
            _pool = (size, ThreadPoolExecutor(max_workers=size, thread_name_prefix="gridlink-hash",
                                              initializer=_lower_this_threads_priority))
        return _pool[1]


class NicePBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Django's PBKDF2-SHA256 — the same algorithm name and hashes, so every stored password checks as
    before — computed on a hashing thread of lower CPU priority (`hashing_pool`): at a shift change
    the logins take the CPU the requests leave, rather than half of it (the key derivation runs
    outside the interpreter lock, so it competes only for the cores)."""

    def encode(self, password, salt, iterations=None):
        return hashing_pool().submit(super().encode, password, salt, iterations).result()


@functools.cache
def _user_with_roles_sql(model, alias: str) -> tuple[str, list[str]]:
    """The query of a session's user with its group names, and the fields it reads in order. Written
    out rather than built by the ORM (an annotated, grouped query): it runs on every request and
    every socket handshake, and the ORM took 2.8 ms to build it where this takes 0.8 ms in all.
    Every name comes from the models' meta, quoted. The row's values are used as the database
    returns them: a user model with a field that converts its value (`from_db_value`) is refused."""
    meta = model._meta
    converting = [f.name for f in meta.concrete_fields if hasattr(f, "from_db_value")]
    if converting:
        raise ImproperlyConfigured(f"config.auth reads the user's row as is; these fields convert: {converting}")
    groups = meta.get_field("groups")
    through, group_meta = groups.remote_field.through._meta, groups.related_model._meta
    quote = connections[alias].ops.quote_name
    columns = ", ".join(f"u.{quote(f.column)}" for f in meta.concrete_fields)
    user_column = quote(through.get_field(groups.m2m_field_name()).column)
    group_column = quote(through.get_field(groups.m2m_reverse_field_name()).column)
    name = quote(group_meta.get_field("name").column)
    roles = (f"SELECT array_agg(g.{name} ORDER BY g.{name}) FROM {quote(through.db_table)} ug "  # noqa: S608 - names from the models, quoted
             f"JOIN {quote(group_meta.db_table)} g ON g.{quote(group_meta.pk.column)} = ug.{group_column} "
             f"WHERE ug.{user_column} = u.{quote(meta.pk.column)}")
    sql = (f"SELECT {columns}, coalesce(({roles}), ARRAY[]::varchar[]) "  # noqa: S608 - names from the models, quoted
           f"FROM {quote(meta.db_table)} u WHERE u.{quote(meta.pk.column)} = %s")
    return sql, [f.attname for f in meta.concrete_fields]


class HashLimitedBackend(ModelBackend):
    """Django's ModelBackend, with its password check (PBKDF2, also run for unknown names) limited
    to LOGIN_HASH_CONCURRENCY at a time per process. Raises LoginBusy when no slot is free within
    LOGIN_HASH_WAIT_SECONDS; the login is then not counted as a failure.

    The user of a session (every request) is read with its roles in one query."""

    def get_user(self, user_id):
        model = get_user_model()
        try:
            user_id = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        alias = model._default_manager.db
        sql, names = _user_with_roles_sql(model, alias)
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, [user_id])
            row = cursor.fetchone()
        if row is None:
            return None
        user = model.from_db(alias, names, row[:-1])
        if not self.user_can_authenticate(user):
            return None
        prime_roles(user, row[-1])
        return user

    def authenticate(self, request, username=None, password=None, **kwargs):
        if password is None:
            return None  # nothing to hash
        slots = hash_slots()
        if not slots.acquire(timeout=settings.LOGIN_HASH_WAIT_SECONDS):
            raise LoginBusy
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        finally:
            slots.release()


class LoginBusyMiddleware(MiddlewareMixin):
    """Turns LoginBusy into 503 with Retry-After (the login page with the reason for a browser)."""

    def process_exception(self, request, exception):
        if not isinstance(exception, LoginBusy):
            return None
        message = _("The server is busy checking other logins. Try again in a few seconds.")
        return login_refusal(request, message, code="login_busy", status=503,
                             retry_after=settings.LOGIN_BUSY_RETRY_AFTER_SECONDS)
