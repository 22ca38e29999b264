"""A page asked about no sub-district by a user who works in several: the chooser, not a guess
(geo/tenancy.py). The API answers such a request itself (400 with the choices)."""

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render

from config.middleware import API_PREFIXES
from geo.tenancy import SubdistrictChoiceNeeded, tenant_subdistricts


def chooser(request: HttpRequest, path: str, query: QueryDict) -> HttpResponse:
    """The chooser page: each of the user's sub-districts as a link to `path` with `query` and
    `?subdistrict=<its code>` (the choice is kept when that page is read: geo.tenancy.request_subdistrict)."""
    query = query.copy()
    choices = []
    for subdistrict in tenant_subdistricts(request.user):
        query["subdistrict"] = subdistrict.code
        choices.append({"code": subdistrict.code, "name": subdistrict.name, "district": subdistrict.district,
                        "url": f"{path}?{urlencode(query, doseq=True)}"})
    return render(request, "frontend/choose_subdistrict.html", {"choices": choices})


class SubdistrictChoiceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, SubdistrictChoiceNeeded) or request.path.startswith(API_PREFIXES):
            return None
        return chooser(request, request.path, request.GET)
