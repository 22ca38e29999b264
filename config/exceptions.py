"""One place that maps the domain error to HTTP (house style, convention 5)."""

import logging
import sys

from django.db import DatabaseError, DataError, IntegrityError
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.defaults import page_not_found
from django.views.defaults import server_error as page_server_error
from psycopg_pool import PoolTimeout
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import exception_handler

from config.errors import DomainError
from config.middleware import API_PREFIXES, overloaded

log = logging.getLogger(__name__)


# The database's last word on a change a request asked for, when no service check caught it first
# (two requests racing past a check, a value only the database refuses): never a 500. SQLSTATE
# 23505 unique, 23503 foreign key, 23P01 exclusion: the records changed meanwhile (409); any other
# integrity or data error (a check constraint, a value too long or out of range): bad input (400).
# Logged: each one is a check a service should make itself.
_CONFLICT_STATES = frozenset({"23505", "23503", "23P01"})


def database_refusal(exc: DatabaseError) -> DomainError:
    sqlstate = getattr(exc.__cause__, "sqlstate", None) or ""
    log.warning("the database refused a request's change (SQLSTATE %s): %s", sqlstate or "?", exc)
    if sqlstate in _CONFLICT_STATES:
        return DomainError(_("The records changed meanwhile; reload and try again."), code="conflict",
                           http_status=409)
    return DomainError(_("The request holds a value the records cannot take; check the input."),
                       code="invalid")


def api_exception_handler(exc, context):
    if isinstance(exc, IntegrityError | DataError):
        exc = database_refusal(exc)
    if isinstance(exc, DomainError):
        return Response({**exc.extra, "detail": str(exc.message), "code": exc.code}, status=exc.http_status)
    return exception_handler(exc, context)


def not_found(request, exception=None):
    """handler404: an address under the APIs that matches no route (`/api/v1/incidents/x/`) answers
    in the API's error shape, as a route's own 404 does; Open311 in its own (`[{code, description}]`).
    Pages keep Django's page."""
    if request.path.startswith("/open311/"):
        return JsonResponse([{"code": 404, "description": str(NotFound.default_detail)}], status=404, safe=False)
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"detail": str(NotFound.default_detail), "code": "not_found"}, status=404)
    return page_not_found(request, exception)


def server_error(request):
    """handler500: a database pool that had no connection to give in time is overload, not a fault:
    503 with Retry-After (config/admission.py keeps it rare). Any other error: 500, as JSON under
    the APIs."""
    exc = sys.exc_info()[1]
    if isinstance(exc, PoolTimeout) or isinstance(getattr(exc, "__cause__", None), PoolTimeout):
        return overloaded(request.path)
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"detail": str(_("A server error occurred.")), "code": "server_error"}, status=500)
    return page_server_error(request)
