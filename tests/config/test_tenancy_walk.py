"""Every URL of the URL conf and every socket route, walked by the users of one tenant against the
objects of another (geo/tenancy.py; issue 16): a new endpoint cannot forget its tenant.

Tenant B is a sub-district with one object of every kind a URL can name (a case dispatched to its
member, with a person, a photo, an alarm, a call-back and the member's message; a case handed to its
office; a published and a draft grid version; an interview; a published ranking; its map's places,
roads, waters and addresses; a record of each model of the admin). Every human-readable string of B
carries MARK, its codes B_CODE. Tenant A is the shared `world` (T1) with a user of every role of
config.roles bound to A only, and a staff user (is_staff, not a superuser: the command room's role,
the view permissions of the project's models in the admin, and those to view and change users and
roles: B's users, named with MARK, are B's objects too).

The walk (`routes()`) reads `django.urls.get_resolver()` recursively. Each keyword of a pattern is
filled with B's object it names (`BY_URL` by the URL's name, then `BY_KWARG`; the admin's object ids
by model: `ADMIN_TENANT_MODELS`, `ADMIN_GLOBAL_MODELS`); a pattern that cannot be filled is listed
in `NOT_FILLED` with the reason. `test_every_route_is_walked_or_listed` fails for a new pattern that
is neither: the point of the walk. Each route is asked (`asks`) by GET with `?subdistrict=<B>`, with
`?subdistrict=<A>` and B's rows named in filters and searches, and with no query (the user's own by
default); by every other method its view has (an empty JSON body) with B's code, and on B's object
with A's too (Open311: `jurisdiction_id` as well; the admin: no query). The answer must not name
anything of B (MARK, B_CODE — echoes of the request's own URL aside — inside a zip, an Excel file,
too), a URL naming B's object must answer 302/400/401/403/404/405 (a 200, 409 or 422 found it),
nothing may raise, and B's rows must be as they were (`b_digest`, after every write).

Beside the walk: A's writes naming B's rows in their bodies are refused (`BODY_PROBES`), the admin
shows A's staff A's rows (the scope is not "nothing"), and the sockets (config.routing): B's wall
closes 4404/4403 for every role of A; A's member and office sockets hear nothing of B's news while
B's own do; a read of B's message on A's member socket is refused and changes nothing."""

import math
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon
from django.db import connection
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern
from django.utils import timezone
from pghistory.models import Event
from rest_framework.test import APIClient

from audit.models import AuditEvent
from config.roles import UserRole
from dispatch.models import (
    Alarm,
    DispatchOrder,
    DutyShift,
    Member,
    MemberMessage,
    MemberPosition,
    MessageAttempt,
    PositionFix,
    Role,
)
from dispatch.services import incident_transition
from geo.models import (
    Address,
    BoundaryVersion,
    Community,
    DraftEditor,
    DraftGrid,
    DraftSave,
    Place,
    Road,
    Tenancy,
    Water,
)
from incidents.models import (
    CallbackTask,
    FeedbackDelivery,
    Handover,
    IdempotentRequest,
    Incident,
    IncidentEvent,
    IncidentPhoto,
    Report,
)
from incidents.services import incident_intake, party_register
from planner.models import DraftStaffMove
from reports.models import Interview, RankingPublication
from tests.factories import (
    S,
    W,
    add_member,
    add_office,
    make_channels,
    make_user,
    make_world,
    put_on_duty,
    run_async,
)
from tests.wall.test_wall_socket import TIMEOUT, closed_with, socket

MARK = "Vq8Zk"  # in every name, description and label of tenant B
B_CODE = "QZB7K"  # tenant B's sub-district code
A_CODE = "T1"  # the shared world's
SCENE = Point(W + 0.002, S + 0.004, srid=4326)  # in the west grid of both squares (the worlds overlap)
SECRET_PHOTO = f"not-a-jpeg {MARK} photo bytes".encode()

# ---- the URL conf, walked ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    parts: tuple  # the patterns from the root resolver's to this one's
    name: str  # namespaced, "" for an unnamed pattern
    callback: object

    @property
    def route(self) -> str:
        return "".join(str(p.pattern) for p in self.parts)

    @property
    def kwargs(self) -> tuple[str, ...]:
        names: list[str] = []
        for part in self.parts:
            pattern = part.pattern
            if isinstance(pattern, RoutePattern):
                names += re.findall(r"<(?:\w+:)?(\w+)>", str(pattern))
            else:
                names += re.findall(r"\(\?P<(\w+)>", str(pattern))
        return tuple(names)

    @property
    def admin_model(self) -> str | None:
        """`app.model` of an admin page of one model."""
        found = re.match(r"admin/(\w+)/(\w+)/", self.route)
        registered = {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry}
        label = f"{found[1]}.{found[2]}" if found else None
        return label if label in registered else None

    def path(self, values: dict) -> str:
        out = ""
        for part in self.parts:
            pattern = part.pattern
            if isinstance(pattern, RoutePattern):
                out += re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m[1]]), str(pattern))
            else:
                piece = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m[1]]), str(pattern))
                out += piece.removeprefix("^").removesuffix("$").replace("\\.", ".")
        return "/" + out

    def methods(self) -> tuple[str, ...]:
        """The unsafe methods its view has (a function view: POST, as it may take it)."""
        view = getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)
        if view is None:
            return ("post",)
        return tuple(m for m in ("post", "put", "patch", "delete") if hasattr(view, m))


def routes() -> list[Route]:
    found: list[Route] = []

    def walk(patterns, parents: tuple, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                inner = f"{namespace}:{p.namespace}" if namespace and p.namespace else (p.namespace or namespace)
                walk(p.url_patterns, (*parents, p), inner or "")
            elif isinstance(p, URLPattern):
                name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or "")
                found.append(Route((*parents, p), name, p.callback))

    walk(get_resolver().url_patterns, (), "")
    return found


# ---- what each keyword names -------------------------------------------------------------------------
# Keys of B's world (`build_b`); a key of GLOBAL names nothing of a tenant (a category's code, a format).

BY_URL: dict[str, dict[str, str]] = {
    "console:incident": {"incident_id": "incident"},
    "reports_page:interview": {"interview_id": "interview"},
    "reports_page:interview-rectify": {"interview_id": "interview"},
    "dispatch:member-detail": {"pk": "member"},
    **{f"dispatch:order-{a}": {"pk": "order"} for a in ("accept", "decline", "stand-down", "remind", "replace")},
    "dispatch:incident-dispatch": {"pk": "incident"},
    "dispatch:incident-level": {"pk": "incident"},
    "dispatch:alarm-acknowledge": {"pk": "alarm"},
    "dispatch:alarm-snooze": {"pk": "alarm"},
    "wall:state": {"code": "code"},
    "wall:replay": {"code": "code"},
    "wall:incident": {"code": "code", "pk": "incident"},
    "planner:export": {"number": "version"},
    **{f"planner:{n}": {"number": "draft"} for n in ("draft", "draft-save", "draft-split", "draft-merge",
                                                      "draft-presence", "draft-impact", "draft-staff-moves",
                                                      "draft-publish")},
    "reports:interview": {"pk": "interview"},
    "reports:interview-rectify": {"pk": "interview"},
    "member_app:order": {"pk": "order"},
    "member_app:alarm-acknowledge": {"pk": "alarm"},
    "dept_api:part": {"pk": "handover"},
    **{f"incidents:incident-{n}": {"pk": "incident"} for n in ("detail", "transition", "recommendations", "merge",
                                                                "locate", "category", "parties", "reveal")},
    "incidents:party-reveal": {"pk": "party"},
    "incidents:photo": {"pk": "photo"},
    "incidents:callback-complete": {"pk": "callback"},
    "open311:service": {"service_code": "category_code"},
    "open311:request": {"service_request_id": "incident_number"},
    "admin:view_on_site": {"content_type_id": "incident_type", "object_id": "incident"},
    # The district map's tiles: the tile over both squares (A's rows in it, B's never), of each layer.
    "tiles:tile": {"layer": "tile_grids", "z": "tile_z", "x": "tile_x", "y": "tile_y"},
    "admin:auth_user_password_change": {"id": "b_user"},
}
BY_KWARG: dict[str, str] = {"fmt": "fmt", "app_label": "app_label", "url": "admin_unknown"}
# More fillings of a route: B's case under A's code on the wall; each layer of the map's tiles.
ALSO: dict[str, list[dict[str, str]]] = {
    "wall:incident": [{"code": "a_code", "pk": "incident"}],
    "tiles:tile": [{"layer": layer, "z": "tile_z", "x": "tile_x", "y": "tile_y"}
                   for layer in ("tile_incidents", "tile_members")],
}
TILE_ZOOM = 14
GLOBAL = {"fmt", "category_code", "app_label", "admin_unknown", "a_code", "incident_type",
          "tile_grids", "tile_incidents", "tile_members", "tile_z", "tile_x", "tile_y"}

# The admin's models of a tenant: each one's page of B's object (`object_id`) must not open.
ADMIN_TENANT_MODELS = {
    "geo.subdistrict": "subdistrict", "geo.community": "community", "geo.boundaryversion": "version",
    "geo.grid": "grid", "geo.draftgrid": "draft_grid", "geo.draftsave": "draft_save", "geo.drafteditor": "draft_editor",
    "geo.water": "water", "geo.road": "road", "geo.place": "place", "geo.address": "address",
    "geo.tenancy": "tenancy", "incidents.incident": "incident", "incidents.incidentevent": "event",
    "incidents.report": "report", "incidents.party": "party", "incidents.incidentphoto": "photo",
    "incidents.handover": "handover", "incidents.feedbackdelivery": "delivery", "incidents.callbacktask": "callback",
    "dispatch.unit": "unit", "dispatch.member": "member", "dispatch.dutyshift": "shift",
    "dispatch.memberposition": "position", "dispatch.positionfix": "fix", "dispatch.dispatchorder": "order",
    "dispatch.alarm": "alarm", "dispatch.membermessage": "message", "dispatch.messageattempt": "attempt",
    "planner.draftstaffmove": "staff_move", "reports.interview": "interview",
    "reports.rankingpublication": "publication", "audit.auditevent": "audit_event",
    "incidents.idempotentrequest": "idempotent", "auth.user": "b_user",
}
# The admin's models of the whole deployment (no tenant): the walk opens one of their objects all the
# same (nothing of B may show), but a 200 is no leak.
ADMIN_GLOBAL_MODELS = {
    "incidents.category": "a category is the district's, shared by every sub-district",
    "incidents.channel": "a channel (a hotline, the district centre's orders) is shared",
    "incidents.categoryrule": "the keyword rules of the categories are shared",
    "dispatch.responsibilityrule": "the responsibility rules are the district's",
    "auth.group": "the roles are the deployment's",
    "authtoken.tokenproxy": "API keys: the deployment's administrators' (no view permission given here)",
    "axes.accessattempt": "login throttling: the deployment's administrators'",
    "axes.accesslog": "login throttling: the deployment's administrators'",
    "axes.accessfailurelog": "login throttling: the deployment's administrators'",
}
# Patterns the walk cannot fill, and why. (Empty: a pattern added here needs a reason a reviewer accepts.)
NOT_FILLED: dict[str, str] = {}


def plan(route: Route) -> list[dict[str, str]] | None:
    """The keyword → key-of-B's-world fillings of a route (one or more), or None when unknown."""
    kwargs = route.kwargs
    if not kwargs:
        return [{}]
    model = route.admin_model
    filling: dict[str, str] = {}
    for kwarg in kwargs:
        key = BY_URL.get(route.name, {}).get(kwarg) or BY_KWARG.get(kwarg)
        if key is None and kwarg == "object_id" and model is not None:
            key = ADMIN_TENANT_MODELS.get(model) or (f"global:{model}" if model in ADMIN_GLOBAL_MODELS else None)
        if key is None:
            return None
        filling[kwarg] = key
    return [filling, *ALSO.get(route.name, [])]


def names_b(filling: dict[str, str]) -> bool:
    return any(key not in GLOBAL and not key.startswith("global:") for key in filling.values())


def test_every_route_is_walked_or_listed():
    """A new pattern must be filled (BY_URL, BY_KWARG, the admin's models) or listed in NOT_FILLED."""
    unknown = [r.route for r in routes() if plan(r) is None and r.route not in NOT_FILLED]
    assert not unknown, f"patterns the tenancy walk cannot fill (map them in BY_URL, or list them): {unknown}"
    stale = set(NOT_FILLED) - {r.route for r in routes()}
    assert not stale, f"NOT_FILLED names patterns that are gone: {stale}"
    admin_models = {r.admin_model for r in routes() if r.admin_model}
    assert admin_models <= set(ADMIN_TENANT_MODELS) | set(ADMIN_GLOBAL_MODELS), admin_models
    assert not set(ADMIN_TENANT_MODELS) & set(ADMIN_GLOBAL_MODELS)


def test_the_walk_builds_each_path_as_its_pattern_resolves_it():
    values = {k: 1 for r in routes() for k in r.kwargs}
    values.update(fmt="json", app_label="incidents", url="nothing-here/", service_code="x", service_request_id="x",
                  layer="grids")
    for r in routes():
        if r.route == "admin/(?P<url>.*)$":
            continue
        match = resolve(r.path(values))
        assert match.func is r.callback, (r.route, r.path(values), match.route)


# ---- tenant B, with one object of each kind --------------------------------------------------------------

def _square(dx: float, dy: float, size: float = 0.002) -> MultiPolygon:
    return MultiPolygon(Polygon.from_bbox((W + dx, S + dy, W + dx + size, S + dy + size)), srid=4326)


def build_b(media) -> dict:
    """Tenant B (see the module's docstring): its objects by the keys of BY_URL and ADMIN_TENANT_MODELS."""
    b = make_world(B_CODE)
    sub = b["subdistrict"]
    sub.name = f"乙{MARK}街道"
    sub.save(update_fields=["name"])
    for obj, name in ((b["community"], f"乙{MARK}社区"), (b["unit"], f"乙{MARK}网格中队"),
                      (b["member"], f"乙{MARK}网格员")):  # its grids' codes name B_CODE (published: immutable)
        obj.name = name
        obj.save(update_fields=["name"])
    now = timezone.now()
    member, channel, category = b["member"], b["channel"], b["category"]
    officer = add_office(b)
    b["office"].name = f"乙{MARK}劳动保障中队"
    b["office"].save(update_fields=["name"])
    officer.name = f"乙{MARK}办事员"
    officer.save(update_fields=["name"])
    leader = add_member(b, f"{B_CODE}-UL", f"乙{MARK}中队长", roles=[Role.UNIT_LEADER])
    put_on_duty(member, officer, leader)
    MemberPosition.objects.create(member=member, point=SCENE, recorded_at=now, accuracy_m=5)
    dispatcher = make_user("b-disp", UserRole.DISPATCHER, tenants=[sub])
    b_member_user = make_user("b-resp", UserRole.RESPONDER, member=member, tenants=())
    b_office_user = make_user("b-dept", UserRole.DEPARTMENT, member=officer, tenants=())
    for account in (dispatcher, b_member_user, b_office_user):  # B's accounts (the user admin, the trail)
        account.first_name = f"乙{MARK}"
        account.save(update_fields=["first_name"])

    incident = incident_intake(channel=channel, category=category, description=f"乙{MARK}两人因停车发生争执",
                               actor=dispatcher, location=SCENE, address_text=f"乙{MARK}幸福路 1 号",
                               caller_name=f"李{MARK}", caller_phone="13700000003", subdistrict=sub).incident
    incident_transition(incident_id=incident.pk, action="dispatch", actor=dispatcher, members=[member],
                        method=DispatchOrder.Method.APP)
    order = DispatchOrder.objects.get(incident=incident)
    party = party_register(incident_id=incident.pk, actor=dispatcher, name=f"韩{MARK}", phone="13600000004")
    alarm = Alarm.objects.create(subdistrict=sub, incident=incident, order=order, kind=Alarm.Kind.ARRIVAL_OVERDUE,
                                 due_at=now - timedelta(minutes=1), raised_at=now, notified=[leader.pk, member.pk])
    message = MemberMessage.objects.get(order=order)  # the new order's, on the member's phone
    MemberMessage.objects.filter(pk=message.pk).update(title=f"乙{MARK}新指令", body=f"乙{MARK}请前往")
    joint = make_channels()["joint"]
    assigned = incident_intake(channel=joint, category=category, description=f"乙{MARK}联席会商交办",
                               actor=dispatcher, address_text=f"乙{MARK}幸福路 8 号", subdistrict=sub,
                               offices=[b["office"]]).incident
    handover = Handover.objects.get(incident=assigned)
    callback = CallbackTask.objects.create(incident=incident, phone="13700000003", name=f"李{MARK}", created_at=now)
    photos_dir = media / "photos"
    photos_dir.mkdir(parents=True, exist_ok=True)
    (photos_dir / f"{MARK}.jpg").write_bytes(SECRET_PHOTO)
    event = incident.events.order_by("pk").first()
    photo = IncidentPhoto.objects.create(
        incident=incident, event=event, position=0, uploaded_by=b_member_user, member=member,
        original=f"photos/{MARK}.jpg", large=f"photos/{MARK}.jpg", thumb=f"photos/{MARK}.jpg", sha256="0" * 64,
        content_type="image/jpeg", width=1, height=1, byte_size=len(SECRET_PHOTO), created_at=now)
    # A published version numbered as A has none (5, in force before B's version 1), and a draft (6).
    old = datetime(2018, 1, 1, tzinfo=timezone.get_current_timezone())
    version = BoundaryVersion.objects.create(subdistrict=sub, number=5, label=f"乙{MARK}旧版", status="published",
                                             effective_from=old, published_at=old)
    draft = BoundaryVersion.objects.create(subdistrict=sub, number=6, label=f"乙{MARK}草稿", based_on=b["version"])
    draft_grid = DraftGrid.objects.create(version=draft, code=f"{B_CODE}-D1", name=f"乙{MARK}草稿网格",
                                          community=b["community"], boundary=_square(0, 0))
    draft_save = DraftSave.objects.create(version=draft, revision=1, user=dispatcher, summary={"note": f"乙{MARK}"})
    draft_editor = DraftEditor.objects.create(version=draft, user=dispatcher, last_seen=now)
    staff_move = DraftStaffMove.objects.create(version=draft, member=member, draft_grid=draft_grid, set_by=dispatcher,
                                               at=now)
    interview = Interview.objects.create(subdistrict=sub, unit=b["unit"], held_at=now - timedelta(days=2),
                                         reason=f"乙{MARK}约谈", findings=f"乙{MARK}问题", requirements=f"乙{MARK}整改",
                                         deadline=now + timedelta(days=5), created_at=now)
    month = timezone.localdate().replace(day=1)
    last_month = (month - timedelta(days=1)).replace(day=1)
    publication = RankingPublication.objects.create(subdistrict=sub, month=last_month, published_at=now,
                                                    formula=f"乙{MARK}", board={"title": f"乙{MARK}"}, outcomes={})
    water = Water.objects.create(subdistrict=sub, name=f"乙{MARK}河", area=_square(0.01, 0.01))
    road = Road.objects.create(subdistrict=sub, name=f"乙{MARK}路", road_class="primary", speed_kmh=40,
                               source=990001, target=990002, length_m=200,
                               line=LineString((W + 0.001, S + 0.001), (W + 0.003, S + 0.001), srid=4326))
    place = Place.objects.create(subdistrict=sub, kind=Place.Kind.values[0], name=f"乙{MARK}小区",
                                 address=f"乙{MARK}路 1 号", location=SCENE)
    address = Address.objects.create(subdistrict=sub, text=f"乙{MARK}路 1 号", road=road, place=place, location=SCENE)
    fix = PositionFix.objects.create(member=member, point=SCENE, recorded_at=now, accuracy_m=5, received_at=now)
    attempt = MessageAttempt.objects.create(message=message, at=now, ok=False, error=f"乙{MARK}")
    report = Report.objects.filter(incident=incident).first()
    delivery = FeedbackDelivery.objects.create(incident=incident, report=report, url=f"https://{MARK}.example/cb",
                                               payload={"note": f"乙{MARK}"}, next_attempt_at=now, created_at=now)
    idempotent = IdempotentRequest.objects.create(user=dispatcher, key=f"{MARK}-key", method="POST",
                                                  path=f"/api/v1/incidents/?{MARK}", body_hash="0" * 64, response_status=201,
                                                  response_body={"description": f"乙{MARK}"}, created_at=now)
    audit_event = AuditEvent.objects.filter(pgh_obj_model="dispatch.Member", pgh_obj_id=str(member.pk)).first()
    assert audit_event is not None  # the trail's record of B's member (its name)
    scale = 2 ** TILE_ZOOM
    b.update(
        tile_grids="grids", tile_incidents="incidents", tile_members="members", tile_z=TILE_ZOOM,
        tile_x=int((SCENE.x + 180) / 360 * scale),
        tile_y=int((1 - math.asinh(math.tan(math.radians(SCENE.y))) / math.pi) / 2 * scale),
        code=B_CODE, a_code=A_CODE, fmt="json", app_label="incidents", admin_unknown="nothing-here/",
        category_code=category.code, incident_type=ContentType.objects.get_for_model(Incident).pk,
        b_user=dispatcher.pk, incident=incident, incident_number=incident.number, order=order, party=party,
        alarm=alarm, message=message, handover=handover, callback=callback, photo=photo, version=version,
        draft=draft, draft_grid=draft_grid, draft_save=draft_save, draft_editor=draft_editor, staff_move=staff_move,
        interview=interview, publication=publication, water=water, road=road, place=place, address=address,
        grid=b["grids"][0], tenancy=Tenancy.objects.get(user=dispatcher), event=IncidentEvent.objects.filter(
            incident=incident).first(), report=report, delivery=delivery, shift=DutyShift.objects.filter(
            member=member).first(), position=MemberPosition.objects.get(member=member), fix=fix, attempt=attempt,
        idempotent=idempotent, audit_event=audit_event, b_dispatcher=dispatcher, b_member_user=b_member_user,
        b_office_user=b_office_user, assigned=assigned, joint=joint,
    )
    return b


def value(b: dict, key: str):
    """The URL's value of a key of B's world (an object's id, a code, a number); for `global:<model>`
    the id of one row of that model (0 when there is none)."""
    if key.startswith("global:"):
        row = apps.get_model(key.removeprefix("global:"))._default_manager.order_by("pk").first()
        return row.pk if row is not None else 0
    found = b[key]
    if isinstance(found, BoundaryVersion):
        return found.number
    return getattr(found, "pk", found)


# ---- the digest of B's rows ----------------------------------------------------------------------------

# B's tables and how a row is B's: its sub-district, or its case's, draft's, member's or unit's (a
# row of A's pointing at B's member or unit — an order, a part of a case, an interview — counts too).
_OF_B = {
    "subdistrict": "t.subdistrict_id = %(sub)s",
    "incident": "t.incident_id IN (SELECT id FROM incidents_incident WHERE subdistrict_id = %(sub)s)",
    "version": "t.version_id IN (SELECT id FROM geo_boundaryversion WHERE subdistrict_id = %(sub)s)",
    "member": "t.member_id IN (SELECT id FROM dispatch_member WHERE subdistrict_id = %(sub)s)",
    "unit": "t.unit_id IN (SELECT id FROM dispatch_unit WHERE subdistrict_id = %(sub)s)",
}
B_TABLES = {
    "geo.Community": ("subdistrict",), "geo.BoundaryVersion": ("subdistrict",), "geo.Grid": ("subdistrict",),
    "geo.Water": ("subdistrict",), "geo.Road": ("subdistrict",), "geo.Place": ("subdistrict",),
    "geo.Address": ("subdistrict",), "geo.Tenancy": ("subdistrict",), "geo.DraftGrid": ("version",), "geo.DraftSave": ("version",),
    "geo.DraftEditor": ("version",), "incidents.Incident": ("subdistrict",), "incidents.IncidentEvent": ("subdistrict",),
    "incidents.Report": ("incident",), "incidents.Party": ("incident",), "incidents.IncidentPhoto": ("incident",),
    "incidents.Handover": ("incident", "unit"), "incidents.CallbackTask": ("incident",),
    "incidents.FeedbackDelivery": ("incident",), "dispatch.Unit": ("subdistrict",), "dispatch.Member": ("subdistrict",),
    "dispatch.MemberGrid": ("member",), "dispatch.DutyShift": ("member",), "dispatch.MemberPosition": ("member",),
    "dispatch.PositionFix": ("member",), "dispatch.DispatchOrder": ("incident", "member"),
    "dispatch.Alarm": ("subdistrict",), "dispatch.MemberMessage": ("subdistrict", "member"),
    "planner.DraftStaffMove": ("version", "member"), "reports.Interview": ("subdistrict", "unit"),
    "reports.RankingPublication": ("subdistrict",),
}


def test_the_digest_covers_every_table_of_a_tenant():
    """A new model of a sub-district (a key to one, or to its case, draft, member or unit) is digested."""
    keys = {"geo.Subdistrict", "incidents.Incident", "geo.BoundaryVersion", "dispatch.Member", "dispatch.Unit"}
    digested = {apps.get_model(label)._meta.db_table for label in B_TABLES}
    missing = []
    for model in apps.get_models(include_auto_created=True):
        if issubclass(model, Event) or model._meta.proxy or not model._meta.managed:
            continue
        if any(f.is_relation and f.related_model and f.related_model._meta.label in keys
               for f in model._meta.concrete_fields) and model._meta.db_table not in digested:
            missing.append(model._meta.label)
    assert not missing, f"add these to B_TABLES: {missing}"


def b_digest(b: dict) -> dict[str, str]:
    """An md5 of B's rows of each table (one query): equal before and after means nothing of B changed."""
    parts = []
    for label, ways in B_TABLES.items():
        where = " OR ".join(_OF_B[way] for way in ways)
        parts.append(f"SELECT '{label}', md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "  # noqa: S608 - our tables
                     f"FROM {apps.get_model(label)._meta.db_table} t WHERE {where}")
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), {"sub": b["subdistrict"].pk})
        return dict(cursor.fetchall())


# ---- the walk ----------------------------------------------------------------------------------------------

ROLES = list(UserRole)
ALLOWED_FOR_B = {302, 400, 401, 403, 404, 405}  # a URL naming B's object: refused, one way or another


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def walkers(world, users) -> dict[str, User]:
    """A's users: one per role, and the staff user of the admin."""
    staff = make_user("a-staff", UserRole.COMMAND_ROOM, tenants=[world["subdistrict"]])
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    apps_of_project = ("geo", "incidents", "dispatch", "planner", "reports", "audit")
    staff.user_permissions.set([
        *Permission.objects.filter(codename__startswith="view_", content_type__app_label__in=apps_of_project),
        # the accounts and roles: viewed and changed (their own users; the roles only viewed)
        *Permission.objects.filter(content_type__app_label="auth", codename__in=[
            "view_user", "change_user", "view_group", "change_group"])])
    return {**{role.value: users[role] for role in ROLES}, "staff": staff}


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    if content[:2] == b"PK":  # an Excel file: its strings are compressed inside
        try:
            with zipfile.ZipFile(BytesIO(content)) as archive:
                content += b"".join(archive.read(n) for n in archive.namelist())
        except zipfile.BadZipFile:
            pass
    return content


def _leaks(body: bytes, path: str) -> list[str]:
    """What of B the body names, beside the echo of the request's own URL."""
    text = body.decode("utf-8", "replace")
    for echo in (f"subdistrict={B_CODE}", f"subdistrict%3D{B_CODE}", f"jurisdiction_id={B_CODE}",
                 f"jurisdiction_id%3D{B_CODE}", path):
        text = text.replace(echo, "")
    return [s for s in (MARK, B_CODE) if s in text]


# Routes whose answer is the same whatever the query and whoever asks (no row in it): asked once, by
# GET, by one user (the OpenAPI document alone is a second per request).
ONCE = {"schema", "api-docs", "mobile:sw", "mobile:shell", "mobile:manifest", "admin:jsi18n"}
SEARCH = MARK[:3]  # what a search for B's names would find: echoed, it is not MARK


def asks(route: Route, naming_b: bool, b: dict) -> list[tuple[str, dict]]:
    """(method, query) of each request of one route: GET with `?subdistrict=` B, with A and B's rows
    named in filters and searches, and with no query (the user's own by default); each write with B,
    and on B's object with A too (a list's POST with A's code writes A's own rows: not tried)."""
    if route.route.startswith("admin/"):
        # The admin takes unknown query keys for filters (and redirects with ?e=1): no query; a
        # list's or an add page's POST is its GET for a user who may only view.
        return [("get", {}), *((m, {}) for m in route.methods() if naming_b)]
    if route.name in ONCE:
        return [("get", {})]
    on_b, on_a = {"subdistrict": B_CODE}, {"subdistrict": A_CODE}
    if route.route.startswith("open311/"):
        on_b["jurisdiction_id"], on_a["jurisdiction_id"] = B_CODE, A_CODE
    probing = {**on_a, "q": SEARCH, "search": SEARCH, "unit": b["unit"].pk, "grid": b["grid"].pk,
               "member": b["member"].pk, "community": b["community"].pk, "incident": b["incident"].pk}
    writes = route.methods()
    return [("get", on_b), ("get", probing), ("get", {}), *((m, on_b) for m in writes),
            *((m, on_a) for m in writes if naming_b)]


def walk_as(who: str, user: User, b: dict, walked: list[Route]) -> tuple[list[str], int]:
    """Every route as `user`: the problems found (see the module's docstring), and the count of requests."""
    problems: list[str] = []
    count = 0
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    before = b_digest(b)
    for route in walked:
        if route.route.startswith("admin/") and not user.is_staff and route.name != "admin:index":
            continue  # the admin sends a non-staff user to its login, page after page (admin:index shows it)
        if route.name in ONCE and who != "staff":
            continue
        for filling in plan(route) or []:
            path = route.path({k: value(b, key) for k, key in filling.items()})
            naming_b = names_b(filling)
            for method, query in asks(route, naming_b, b):
                count += 1
                where = f"{who} {method.upper()} {path} {query}"
                try:
                    if method == "get":
                        response = client.get(path, query)
                    else:
                        target = f"{path}?{urlencode(query)}" if query else path
                        response = getattr(client, method)(target, b"{}", content_type="application/json",
                                                           HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
                except Exception as error:  # noqa: BLE001 - every failure is reported with its request
                    problems.append(f"{where}: raised {type(error).__name__}: {error}")
                    continue
                status = response.status_code
                leaked = _leaks(_body(response), path)
                if leaked:
                    problems.append(f"{where}: {status} names B ({', '.join(leaked)})")
                if naming_b and status not in ALLOWED_FOR_B:
                    problems.append(f"{where}: {status} for B's object")
                if status >= 500:
                    problems.append(f"{where}: {status}")
                if method != "get":
                    after = b_digest(b)
                    if after != before:
                        changed = sorted(k for k in after if after[k] != before.get(k))
                        problems.append(f"{where}: {status} changed B's rows: {changed}")
                        before = after
            if "logout" in route.name:
                client.force_login(user)
    return problems, count


@pytest.fixture
def tenants(world, walkers, media):
    b = build_b(media)
    # B's own see B's case: the strings the walk looks for are where they should be (the walk can fail).
    own = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    own.force_login(b["b_dispatcher"])
    seen = own.get(f"/api/v1/incidents/{b['incident'].pk}/", {"subdistrict": B_CODE})
    assert seen.status_code == 200 and MARK in seen.text, seen.content[:300]
    return b


@pytest.mark.parametrize("who", [*[r.value for r in ROLES], "staff"])
def test_a_user_of_tenant_a_finds_nothing_of_tenant_b_at_any_url(world, walkers, tenants, who):
    walked = [r for r in routes() if r.route not in NOT_FILLED]
    problems, count = walk_as(who, walkers[who], tenants, walked)
    assert count > 100
    assert not problems, f"{len(problems)} of {count} requests:\n" + "\n".join(problems[:400])


def test_the_admin_shows_a_staff_user_their_own_rows_and_a_superuser_everyone(world, walkers, tenants):
    """The other side of the walk's admin pages: A's rows are listed (the scope is not "nothing"), the
    related filters and a form's choices offer A's only, and a superuser sees B's too."""
    b = tenants
    staff = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(walkers["staff"])
    members = staff.get("/admin/dispatch/member/")
    assert members.status_code == 200 and "T1-M1" in members.text and B_CODE not in members.text
    trail = staff.get("/admin/audit/auditevent/")
    assert trail.status_code == 200 and "T1-M1" in trail.text and MARK not in trail.text
    interviews = staff.get("/admin/reports/interview/")
    assert interviews.status_code == 200 and MARK not in interviews.text  # its filter of sub-districts too
    assert staff.get(f"/admin/dispatch/member/{b['member'].pk}/change/").status_code == 302  # as if deleted
    assert staff.get(f"/admin/dispatch/member/{world['member'].pk}/change/").status_code == 200
    assert staff.get("/admin/incidents/idempotentrequest/").status_code == 403  # superusers only
    accounts = staff.get("/admin/auth/user/")
    assert accounts.status_code == 200 and "a-staff" in accounts.text and MARK not in accounts.text
    for named in (f"dispatch.Member:{b['member'].pk}", f"auth.User:{b['b_dispatcher'].pk}"):  # the trail's title
        assert staff.get("/admin/audit/auditevent/", {"obj": named, "method": "references"}).status_code == 404
    assert staff.get("/admin/audit/auditevent/", {"obj": f"dispatch.Member:{world['member'].pk}",
                                                  "method": "references"}).status_code == 200

    request = RequestFactory().get("/admin/geo/community/")
    request.user = walkers["staff"]
    community_admin = admin.site._registry[Community]
    field = community_admin.formfield_for_foreignkey(Community._meta.get_field("subdistrict"), request)
    assert list(field.queryset) == [world["subdistrict"]]
    member_admin = admin.site._registry[Member]
    grids = member_admin.formfield_for_manytomany(Member._meta.get_field("grids"), request)
    assert {g.subdistrict_id for g in grids.queryset} == {world["subdistrict"].pk}

    root = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    root.force_login(User.objects.create_superuser("root", password=None))
    assert B_CODE in root.get("/admin/dispatch/member/").text and MARK in root.get("/admin/audit/auditevent/").text


# ---- B's rows named in a body ------------------------------------------------------------------------
# The walk above posts empty bodies. Here A's users write on A's own objects, naming B's in the body
# (an office, a member, a case, a unit): each is refused, nothing of B changes, the answer names
# nothing of B. (role, path with `{a_incident}` / `{a_assigned}`, body with `b.<key>` values, the
# refusal: status and code.)

BODY_PROBES = {
    "intake handing a part to B's office": (
        "dispatcher", "/api/v1/incidents/?subdistrict=T1",
        {"channel": "joint_code", "category": "category_code", "description": "交办", "address": "幸福路",
         "subdistrict": A_CODE, "offices": ["b.office"]}, (400, "offices")),
    "intake linking a report to B's case": (
        "call_taker", "/api/v1/incidents/",
        {"channel": "hotline_code", "category": "category_code", "description": "又一位来电",
         "location": {"type": "Point", "coordinates": [SCENE.x, SCENE.y]}, "subdistrict": A_CODE,
         "link_to": "b.incident"}, (404, "not_found")),
    "dispatching B's member to A's case": (
        "dispatcher", "/api/v1/incidents/{a_incident}/transitions/",
        {"action": "dispatch", "members": ["b.member"], "method": "phone"}, (400, "members")),
    "assigning A's case to B's office": (
        "dispatcher", "/api/v1/incidents/{a_assigned}/transitions/",
        {"action": "assign", "unit": "b.office", "text": "交给别处"}, (400, "unit")),
    "merging A's case into B's": (
        "dispatcher", "/api/v1/incidents/{a_incident}/merge/", {"into": "b.incident"}, (404, None)),
    "an interview of B's unit": (
        "leader", "/api/v1/reports/interviews/?subdistrict=T1",
        {"unit": "b.unit", "reason": "约谈", "findings": "问题", "requirements": "整改", "deadline": "in_a_week"},
        (400, "unit")),
    "a meeting's decision for B's office": (
        "command_room", "/api/v1/reports/agenda/decisions/?subdistrict=T1",
        {"category": "category_code", "description": "会议决定", "offices": ["b.office"]}, (400, "offices")),
    "grids for B's member": (
        "planner", "/api/v1/planner/assignments/?subdistrict=T1", {"member": "b.member", "grids": []}, (404, "member")),
    "positions of B's member": (
        "responder", "/api/v1/positions/",
        {"positions": [{"member": "b.member", "at": "now", "lon": SCENE.x, "lat": SCENE.y, "accuracy_m": 5}]},
        (404, None)),
}


def _filled(body, b: dict, now: datetime):
    if isinstance(body, dict):
        return {k: _filled(v, b, now) for k, v in body.items()}
    if isinstance(body, list):
        return [_filled(v, b, now) for v in body]
    if isinstance(body, str) and body.startswith("b."):
        return b[body.removeprefix("b.")].pk
    return {"now": now.isoformat(), "in_a_week": (now + timedelta(days=7)).isoformat(),
            "joint_code": b["joint"].code, "hotline_code": b["channel"].code,
            "category_code": b["category"].code}.get(body, body) if isinstance(body, str) else body


def test_the_body_probes_name_existing_roles():
    assert {role for role, _path, _body, _refusal in BODY_PROBES.values()} <= {r.value for r in ROLES}


def test_b_named_in_a_body_is_refused_and_changes_nothing(world, walkers, tenants):
    b, sub = tenants, world["subdistrict"]
    dispatcher = walkers["dispatcher"]
    a_incident = incident_intake(channel=world["channel"], category=world["category"], description="本街道的事",
                                 actor=dispatcher, location=SCENE, subdistrict=sub).incident
    a_assigned = incident_intake(channel=b["joint"], category=world["category"], description="本街道交办",
                                 actor=dispatcher, address_text="幸福路", subdistrict=sub,
                                 offices=[add_office(world) and world["office"]]).incident
    put_on_duty(world["member"])
    problems = []
    before = b_digest(b)
    for name, (role, path, body, (status, code)) in BODY_PROBES.items():
        client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(walkers[role])
        target = path.format(a_incident=a_incident.pk, a_assigned=a_assigned.pk)
        response = client.post(target, _filled(body, b, timezone.now()), format="json",
                               HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
        answered = (response.status_code, response.json().get("code") if code else None)
        if answered != (status, code):
            problems.append(f"{name}: {answered}, not {(status, code)}: {response.content[:200]!r}")
        if leaked := _leaks(_body(response), target):
            problems.append(f"{name}: names B ({leaked})")
        after = b_digest(b)
        if after != before:
            problems.append(f"{name}: changed B's rows {sorted(k for k in after if after[k] != before[k])}")
            before = after
    assert not problems, "\n".join(problems)


# ---- the sockets ---------------------------------------------------------------------------------------

@pytest.fixture
def _fresh_channel_layer():
    yield
    run_async(get_channel_layer().flush)


async def stays_open(communicator) -> bool:
    """Whether the socket is admitted and not closed at once."""
    connected, _code = await communicator.connect(timeout=TIMEOUT)
    if not connected:
        return False
    if await communicator.receive_nothing(timeout=0.3):
        opened = True
    else:
        opened = (await communicator.receive_output(timeout=TIMEOUT))["type"] != "websocket.close"
    await communicator.disconnect()
    return opened


def socket_routes() -> list[str]:
    from config.routing import websocket_urlpatterns

    return [str(p.pattern) for p in websocket_urlpatterns]


# Each socket route, and the test below that walks it.
SOCKETS = {
    "ws/wall/<str:subdistrict_code>/": "test_the_wall_socket_of_tenant_b_is_closed_to_every_role_of_a",
    "ws/member/": "test_the_member_and_office_sockets_of_a_hear_nothing_of_b",
    "ws/dept/": "test_the_member_and_office_sockets_of_a_hear_nothing_of_b",
    "": "test_an_unrouted_socket_closes_as_unknown",
}


def test_every_socket_route_is_walked():
    assert set(socket_routes()) == set(SOCKETS), set(socket_routes()) ^ set(SOCKETS)
    assert all(name in globals() for name in SOCKETS.values())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_fresh_channel_layer")
def test_the_wall_socket_of_tenant_b_is_closed_to_every_role_of_a(tmp_path, settings):
    from wall.consumers import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND

    settings.MEDIA_ROOT = tmp_path
    a = make_world(A_CODE)
    b = build_b(tmp_path)
    officer = add_office(a)
    for role in ROLES:
        member = {UserRole.RESPONDER: a["member"], UserRole.DEPARTMENT: officer}.get(role)
        user = make_user(f"a-{role.value}", role, member=member, tenants=[a["subdistrict"]])
        code = async_to_sync(closed_with)(socket(f"/ws/wall/{B_CODE}/", user))
        assert code in (CLOSE_NOT_FOUND, CLOSE_FORBIDDEN), (role, code)
    assert async_to_sync(stays_open)(socket(f"/ws/wall/{B_CODE}/", b["b_dispatcher"]))  # B's own: open


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_fresh_channel_layer")
def test_an_unrouted_socket_closes_as_unknown():
    from wall.consumers import CLOSE_NOT_FOUND

    a = make_world(A_CODE)
    user = make_user("a-cmd", UserRole.COMMAND_ROOM, tenants=[a["subdistrict"]])
    assert async_to_sync(closed_with)(socket(f"/ws/nothing/{B_CODE}/", user)) == CLOSE_NOT_FOUND


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_fresh_channel_layer")
def test_the_member_and_office_sockets_of_a_hear_nothing_of_b(tmp_path, settings):
    """A's responder and office hold their sockets while B's member gets a new order and B's office a
    new part of a case: B's own sockets hear of them, A's nothing; A's responder reading B's message
    is refused and the message stays unread."""
    settings.MEDIA_ROOT = tmp_path
    a = make_world(A_CODE)
    b = build_b(tmp_path)
    put_on_duty(a["member"])
    a_responder = make_user("a-resp", UserRole.RESPONDER, member=a["member"], tenants=[a["subdistrict"]])
    a_office = make_user("a-dept", UserRole.DEPARTMENT, member=add_office(a), tenants=[a["subdistrict"]])
    sockets = {"a_member": socket("/ws/member/", a_responder), "a_dept": socket("/ws/dept/", a_office),
               "b_member": socket("/ws/member/", b["b_member_user"]), "b_dept": socket("/ws/dept/", b["b_office_user"])}
    b_message = b["message"].pk

    def b_news():
        incident = incident_intake(channel=b["channel"], category=b["category"], description=f"乙{MARK}又一起",
                                   actor=b["b_dispatcher"], location=SCENE, subdistrict=b["subdistrict"]).incident
        incident_transition(incident_id=incident.pk, action="dispatch", actor=b["b_dispatcher"],
                            members=[b["member"]], method=DispatchOrder.Method.APP)
        incident_intake(channel=b["joint"], category=b["category"], description=f"乙{MARK}交办",
                        actor=b["b_dispatcher"], address_text=f"乙{MARK}路", subdistrict=b["subdistrict"],
                        offices=[b["office"]])

    async def scenario():
        for communicator in sockets.values():
            connected, _ = await communicator.connect(timeout=TIMEOUT)
            assert connected
            while (await communicator.receive_json_from(timeout=TIMEOUT))["type"] != "caught_up":
                pass
        await sockets["a_member"].send_json_to({"type": "read", "message": b_message})
        refused = await sockets["a_member"].receive_json_from(timeout=TIMEOUT)
        await database_sync_to_async(b_news)()
        heard = {who: await sockets[who].receive_json_from(timeout=TIMEOUT) for who in ("b_member", "b_dept")}
        quiet = {who: await sockets[who].receive_nothing(timeout=0.5) for who in ("a_member", "a_dept")}
        for communicator in sockets.values():
            await communicator.disconnect()
        return refused, heard, quiet

    refused, heard, quiet = async_to_sync(scenario)()
    assert (refused["type"], refused["code"]) == ("error", "not_found"), refused
    assert MemberMessage.objects.get(pk=b_message).read_at is None
    assert heard["b_member"]["type"] == "message" and heard["b_dept"]["type"] == "message", heard
    assert quiet == {"a_member": True, "a_dept": True}


