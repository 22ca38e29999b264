"""Tenancy: which sub-districts a user works in, and which one a request is about.

One deployment serves a district's sub-districts (about 190), each with its own command room. A
user works in the sub-districts of their `Tenancy` rows — one sub-district, or every sub-district
of a district for the district centre — and, when linked to an active member of the forces, in the
member's own sub-district; a superuser (the deployment's administrators) in all of them. What a user
reads or changes is scoped to these (`tenant_ids`, `tenant_q`): another tenant's object answers 404,
exactly as one that does not exist.

The sub-district a request is about is never guessed (`subdistrict_for`):

- named (`?subdistrict=<code>`): one of the user's, else None (the caller answers 404);
- not named: the user's only one; with several, the one they chose last (`choose`, kept in their
  session), else `SubdistrictChoiceNeeded` (400, naming the choices): the pages show the chooser.
"""

from collections.abc import Mapping
from typing import Any, Literal, cast, overload

from django.contrib.auth.models import AnonymousUser, User
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError
from config.middleware import API_PREFIXES
from geo.models import Subdistrict, Tenancy

SESSION_KEY = "gridlink_subdistrict"  # the code of the sub-district the user chose last
_CACHE_ATTR = "_gridlink_tenants"


class SubdistrictChoiceNeeded(DomainError):
    """A user of several sub-districts named none and has chosen none yet."""

    http_status = 400

    def __init__(self, choices: list[str]):
        super().__init__(_("Choose a sub-district: you work in several."), code="choose_subdistrict",
                         extra={"choices": choices})


def _where(user: User | AnonymousUser | None) -> Q | None:
    """The user's sub-districts as a condition on Subdistrict (no query of its own: a subquery where
    it is used); None for all of them (a superuser)."""
    if user is None or not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_superuser:
        return None
    rows = Tenancy.objects.filter(user=user)
    return (Q(pk__in=rows.filter(subdistrict__isnull=False).values("subdistrict_id"))
            | Q(district__in=rows.exclude(district="").values("district"))
            # a member's own sub-district (through the reverse relation: geo does not import dispatch)
            | Q(pk__in=Subdistrict.objects.filter(members__user=user, members__active=True).values("pk")))


def tenant_ids(user: User | AnonymousUser | None) -> frozenset[int] | None:
    """The ids of the sub-districts `user` works in; None for all of them (a superuser). Read once
    per user object (cached on it); nobody's for an anonymous user."""
    if user is not None and hasattr(user, _CACHE_ATTR):
        return cast(frozenset[int] | None, getattr(user, _CACHE_ATTR))
    where = _where(user)
    ids = None if where is None else frozenset(
        Subdistrict.objects.using(DEFAULT_DB_ALIAS).filter(where).values_list("pk", flat=True))
    if user is not None and user.is_authenticated:
        setattr(user, _CACHE_ATTR, ids)
    return ids


def forget(user: User | AnonymousUser | None) -> None:
    """Drop the cached tenants of this user object (after its rows changed)."""
    if user is not None and hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def tenant_q(user: User | AnonymousUser | None, field: str = "subdistrict_id") -> Q:
    """A filter keeping the rows of the user's sub-districts (`field`: the rows' sub-district id),
    as a subquery: no query of its own."""
    if user is not None and hasattr(user, _CACHE_ATTR):  # known already: the ids themselves
        ids = tenant_ids(user)
        return Q() if ids is None else Q(**{f"{field}__in": sorted(ids)})
    where = _where(user)
    return Q() if where is None else Q(**{f"{field}__in": Subdistrict.objects.filter(where).values("pk")})


def covered_districts(user: User | AnonymousUser | None) -> QuerySet[Subdistrict, Any]:
    """The districts (their names, `Subdistrict.district`) whose every sub-district `user` works in,
    as a subquery of `values("district")`: the district centre's own district; none for a user of
    some of a district's sub-districts only; every district for a superuser."""
    if user is not None and user.is_authenticated and user.is_superuser:
        return Subdistrict.objects.exclude(district="").values("district").distinct()
    mine = tenant_q(user, "pk")
    return (Subdistrict.objects.filter(mine).exclude(district="")
            .exclude(district__in=Subdistrict.objects.exclude(mine).values("district"))
            .values("district").distinct())


def tenancy_q(user: User | AnonymousUser | None) -> Q:
    """A filter on Tenancy keeping the rows that lie within `user`'s sub-districts: a row of one of
    them, or of a whole district all of whose sub-districts are the user's (`covered_districts`).
    A district's row is never a sub-district admin's: it names sub-districts that are not theirs.
    Everything for a superuser. No query of its own."""
    if user is not None and user.is_authenticated and user.is_superuser:
        return Q()
    return Q(subdistrict_id__in=Subdistrict.objects.filter(tenant_q(user, "pk")).values("pk")) \
        | Q(district__in=covered_districts(user))


def tenant_users_q(user: User | AnonymousUser | None) -> Q:
    """A filter on User keeping the users who are `user`'s to see and administer (the admin's
    users: geo.admin.TenantUserAdmin): every user for a superuser; for anyone else, the users who
    work somewhere and only within `user`'s sub-districts — every one of their tenancies lies there
    (`tenancy_q`: a whole district only if all its sub-districts are `user`'s) and so does the
    sub-district of the member they are linked to (active or not: a member taken back into service
    brings it back). Never a superuser, nor a user who works nowhere (a new account given no
    sub-district yet, an integration's key): those are the deployment's administrators'. A user who
    also works in another sub-district is not `user`'s either, even where they share one: changing
    their account (its password, its roles) would change what they do in a sub-district that is
    not `user`'s — `user` may still take away their tenancy of `user`'s own sub-district (Geo ›
    Tenancies). No query of its own."""
    if user is not None and user.is_authenticated and user.is_superuser:
        return Q()
    mine = tenant_q(user, "pk")
    rows = Tenancy.objects.filter(user_id=OuterRef("pk"))
    members = Subdistrict.objects.filter(members__user_id=OuterRef("pk"))  # geo does not import dispatch
    return (Q(is_superuser=False) & (Exists(rows) | Exists(members))
            & ~Exists(rows.exclude(pk__in=Tenancy.objects.filter(tenancy_q(user)).values("pk")))
            & ~Exists(members.exclude(mine)))


def is_tenant(user: User | AnonymousUser | None, subdistrict_id: int | None) -> bool:
    ids = tenant_ids(user)
    return subdistrict_id is not None and (ids is None or subdistrict_id in ids)


def works_in(user: User | AnonymousUser | None, code: str) -> bool:
    """Whether `user` works in the sub-district with `code` (one query)."""
    return tenant_subdistricts(user).filter(code=code).exists()


def tenant_subdistricts(user: User | AnonymousUser | None) -> QuerySet[Subdistrict]:
    """The user's sub-districts by code, without their boundaries (a city's are large). Read on the
    primary even on a path that reads a replica (config/db_router.py): who may see a sub-district is
    decided by the newest rows (a tenancy just given, or taken away), never by a lagging copy."""
    return (Subdistrict.objects.using(DEFAULT_DB_ALIAS).filter(tenant_q(user, "pk"))
            .defer("boundary").order_by("code"))


def subdistrict_for(user: User | AnonymousUser | None, code: str | None = None,
                    session: Mapping[str, Any] | None = None) -> Subdistrict | None:
    """The sub-district a request is about (see the module's docstring): the one named by `code`
    if the user works there (else None), or without a code the user's only one, or the one kept in
    `session`; SubdistrictChoiceNeeded when the user has several and chose none. None for a user
    who works nowhere."""
    mine = tenant_subdistricts(user)
    if code:
        return mine.filter(code=code).first()
    chosen = session.get(SESSION_KEY) if session is not None else None
    if chosen:
        found = mine.filter(code=chosen).first()
        if found is not None:
            return found
    first_two = list(mine[:2])
    if len(first_two) <= 1:
        return first_two[0] if first_two else None
    raise SubdistrictChoiceNeeded(list(mine.values_list("code", flat=True)))


def choose(user: User | AnonymousUser | None, code: str, session: Any) -> Subdistrict | None:
    """Keep `code` as the user's chosen sub-district in their session, if they work there."""
    subdistrict = tenant_subdistricts(user).filter(code=code).first()
    if subdistrict is not None:
        session[SESSION_KEY] = subdistrict.code
    return subdistrict


@overload
def request_subdistrict(request: Any) -> Subdistrict: ...
@overload
def request_subdistrict(request: Any, *, required: Literal[False]) -> Subdistrict | None: ...
def request_subdistrict(request: Any, *, required: bool = True) -> Subdistrict | None:
    """The sub-district a request (a page's or the API's) is about: `?subdistrict=<code>` when it is
    one of the user's — kept as their choice — or as `subdistrict_for` decides without a code.
    Http404 when it is not the user's (or there is none); SubdistrictChoiceNeeded for a user of
    several who named none and chose none (the API answers 400 with the choices, a page the
    chooser: frontend/middleware.py). `required=False` (a page that says "no data" itself): None
    instead of 404 for a user who works nowhere and named none."""
    code = request.GET.get("subdistrict") or None
    session = getattr(request, "session", None)
    subdistrict = subdistrict_for(request.user, code, session)
    if subdistrict is None:
        if code is None and not required:
            return None
        raise Http404(_("No such sub-district."))
    if code and session is not None and getattr(session, "session_key", None) is not None \
            and not request.path.startswith(API_PREFIXES) and session.get(SESSION_KEY) != subdistrict.code:
        # A page's choice is kept in the browser's session, written only when it changes. Not the
        # API's: the pages' scripts name the sub-district on every call, and a token client has no
        # session to keep it in (a new one per request would be a row each).
        session[SESSION_KEY] = subdistrict.code
    return subdistrict
