"""Read queries of the wall map: the snapshot a wall map starts from (and reloads on resync), one
incident's card, and the replay of a past day. Everything is scoped to one sub-district.

Cost: the snapshot is loaded by every wall map on connect and on resync, so each section is one
query of plain values (no model instances, no per-row queries), whatever the number of members and
incidents: the newest event id, the incidents, their orders, the members, the grids, today's
counts, the alarms, the latest events. Coordinates are [lon, lat] in WGS 84, times ISO 8601 in
local time (settings.TIME_ZONE, Asia/Shanghai).

The newest event id is read first: every later read sees at least what that event left, so a
client resuming the socket from it misses nothing (at worst it gets an event it has applied).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from django.conf import settings
from django.contrib.gis.geos import LineString, Point
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    BooleanField,
    Choices,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
)
from django.db.models.functions import Floor, JSONObject, Substr
from django.utils import timezone

from dispatch import routing
from dispatch.deadlines import local_day_bounds
from dispatch.models import Alarm, DispatchOrder, DutyShift, Force, Member, PositionFix
from dispatch.recommend import BUSY_STATUSES, LOAD_STATES
from dispatch.selectors import on_duty_at
from geo.models import BoundaryVersion, Grid, Subdistrict
from incidents import flows
from incidents.events import event_payload, events_for_payload
from incidents.models import Incident, IncidentEvent, IncidentPhoto, Status
from incidents.serializers import photo_url

SUMMARY_CHARS = 60  # the description's first characters shown in the queue
EVENTS_SHOWN = 50  # the ticker's events in the snapshot
ALARMS_SHOWN = 100
TRACK_STEP_SECONDS = 15  # replay tracks: at most one point per member per this many seconds
OPEN_STATUSES = tuple(sorted(flows.OPEN_STATUSES))

# One JSON object of an answer (the wall's shapes are documented on the functions that make them).
_Json = dict[str, Any]


# --- helpers -------------------------------------------------------------------------------------

def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(_zone()).date()


class _Iso:
    """Aware datetimes as ISO 8601 in local time (one zone object per answer)."""

    def __init__(self) -> None:
        self.zone = _zone()

    def __call__(self, value: datetime | None) -> str | None:
        return value.astimezone(self.zone).isoformat() if value is not None else None


def _lonlat(point: Point | None) -> list[float] | None:
    return [round(point.x, 6), round(point.y, 6)] if point is not None else None


def _line(line: LineString | None) -> list[list[float]] | None:
    return [[x, y] for x, y in line.coords] if line is not None and len(line) >= 2 else None


# Geometry is read as numbers and JSON text made by PostGIS, not as GEOS objects: building a GEOS
# object per row (and freeing it) cost the snapshot more than its queries.

def _x(field: str) -> Func:
    return Func(F(field), function="ST_X", output_field=FloatField())


def _y(field: str) -> Func:
    return Func(F(field), function="ST_Y", output_field=FloatField())


def _xy(x: float | None, y: float | None) -> list[float] | None:
    return [round(x, 6), round(y, 6)] if x is not None and y is not None else None


def _line_json(field: str) -> Func:
    """A line's [[lon, lat], ...] as JSON text written by PostGIS (6 decimals, about 0.1 m); NULL
    for a missing line or one of fewer than two points."""
    return Func(F(field), template=("CASE WHEN ST_NPoints(%(expressions)s) >= 2 THEN "
                                    "(ST_AsGeoJSON(%(expressions)s, 6)::json -> 'coordinates')::text END"),
                output_field=TextField())


def _fragment(text: str | None) -> orjson.Fragment | None:
    """JSON text already written (by PostgreSQL) placed as it is in the answer (config/renderers.py)."""
    return orjson.Fragment(text) if text is not None else None


def _labels(choices: type[Choices]) -> dict[str, str]:
    """A TextChoices' labels in the active language (translated once per answer)."""
    return {value: str(label) for value, label in choices.choices}


def _code_name(code: str | None, name: str | None) -> _Json | None:
    return {"code": code, "name": name} if code is not None else None


# --- the sub-district ----------------------------------------------------------------------------

@dataclass(frozen=True)
class WallSubdistrict:
    id: int
    code: str
    name: str
    bbox: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat

    def as_dict(self) -> _Json:
        return {"code": self.code, "name": self.name, "bbox": [round(v, 6) for v in self.bbox]}


def _extent(function: str) -> Func:
    return Func(F("boundary"), function=function, output_field=FloatField())


def wall_subdistrict(*, code: str) -> WallSubdistrict | None:
    """The sub-district with `code` and its bounding box (computed in the database: the boundary
    itself is not fetched); None when unknown."""
    row = (Subdistrict.objects.filter(code=code)
           .annotate(x0=_extent("ST_XMin"), y0=_extent("ST_YMin"), x1=_extent("ST_XMax"), y1=_extent("ST_YMax"))
           .values_list("id", "code", "name", "x0", "y0", "x1", "y1").first())
    if row is None:
        return None
    return WallSubdistrict(id=row[0], code=row[1], name=row[2], bbox=(row[3], row[4], row[5], row[6]))


def last_event_id(*, subdistrict_id: int) -> int:
    """The newest IncidentEvent id of the sub-district (0 when there is none)."""
    return (IncidentEvent.objects.filter(subdistrict_id=subdistrict_id).order_by("-pk")
            .values_list("pk", flat=True).first()) or 0


# --- incidents and their orders ------------------------------------------------------------------

_INCIDENT_COLUMNS = ("id", "number", "status", "category__code", "category__name", "channel__code", "channel__name",
                     "major", "level", "reported_at", "lon", "lat", "address_text", "grid__code", "grid__name",
                     "summary")


def _orders_by_incident(incident_ids: list[int], iso: _Iso) -> dict[int, list[_Json]]:
    """Every order of these incidents, oldest first, grouped by incident (one query)."""
    out: dict[int, list[_Json]] = defaultdict(list)
    if not incident_ids:
        return out
    rows = (DispatchOrder.objects.filter(incident_id__in=incident_ids).order_by("dispatched_at", "id")
            .annotate(route_json=_line_json("route"))
            .values_list("id", "incident_id", "member_id", "member__name", "member__force", "state", "dispatched_at",
                         "arrive_by", "accepted_at", "arrived_at", "travel_seconds", "route_json"))
    for (pk, incident_id, member_id, member_name, force, state, dispatched_at, arrive_by, accepted_at, arrived_at,
         travel_seconds, route) in rows:
        awaited = state in DispatchOrder.LIVE_STATES  # their earliest arrive_by is the deadline
        eta = (dispatched_at + timedelta(seconds=travel_seconds)) if awaited and travel_seconds is not None else None
        out[incident_id].append({
            "id": pk, "member": member_id, "member_name": member_name, "force": force, "state": state,
            "dispatched_at": iso(dispatched_at), "arrive_by": iso(arrive_by), "accepted_at": iso(accepted_at),
            "arrived_at": iso(arrived_at), "travel_seconds": travel_seconds, "eta": iso(eta), "route": _fragment(route),
            # not in the shape the page reads: the raw value for the deadline below
            "_arrive_by": arrive_by if awaited else None,
        })
    return out


def _incidents(queryset: QuerySet[Incident], iso: _Iso, *,
               extra: tuple[str, ...] = ()) -> tuple[list[_Json], dict[int, datetime]]:
    """The incidents of `queryset` as the wall shows them, each with its orders, and the
    deadline of those that have one (two queries)."""
    status_labels = _labels(Status)
    rows = list(queryset.annotate(summary=Substr("description", 1, SUMMARY_CHARS), lon=_x("location"),
                                  lat=_y("location"))
                .values_list(*_INCIDENT_COLUMNS, *extra))
    orders = _orders_by_incident([r[0] for r in rows], iso)
    out: list[_Json] = []
    deadline_of: dict[int, datetime] = {}
    for row in rows:
        (pk, number, status, category_code, category_name, channel_code, channel_name, major, level, reported_at,
         lon, lat, address, grid_code, grid_name, summary) = row[:len(_INCIDENT_COLUMNS)]
        own = orders.get(pk, [])
        awaited = [o.pop("_arrive_by") for o in own]
        deadlines = [d for d in awaited if d is not None]
        if deadlines:
            deadline_of[pk] = min(deadlines)
        item = {
            "id": pk, "number": number, "status": status, "status_label": status_labels.get(status, status),
            "category": _code_name(category_code, category_name), "channel": _code_name(channel_code, channel_name),
            "major": major, "level": level, "reported_at": iso(reported_at), "point": _xy(lon, lat),
            "address": address, "grid": _code_name(grid_code, grid_name), "summary": summary,
            "deadline": iso(deadline_of.get(pk)), "orders": own,
        }
        item.update(zip(extra, row[len(_INCIDENT_COLUMNS):], strict=True))
        out.append(item)
    return out, deadline_of


def _on_board(day_start: datetime) -> Q:
    """What puts an incident on the board: not closed or merged, or closed today."""
    return Q(status__in=OPEN_STATUSES) | Q(status=Status.CLOSED, closed_at__gte=day_start)


def _board_incidents(subdistrict_id: int, day_start: datetime) -> Q:
    """Incidents on the board: every one not closed or merged, and those closed today. The
    candidates come from the (sub-district, status) index and from today's closing events (the
    events' time index), never from a scan of every closed case of the sub-district."""
    open_ids = Incident.objects.filter(subdistrict_id=subdistrict_id, status__in=OPEN_STATUSES).order_by().values("pk")
    closed_today = (IncidentEvent.objects.filter(subdistrict_id=subdistrict_id, at__gte=day_start,
                                                 to_status=Status.CLOSED).order_by().values("incident_id"))
    return Q(pk__in=open_ids.union(closed_today, all=True)) & _on_board(day_start)


def board_rows(*, incident_ids: list[int], now: datetime | None = None) -> dict[int, _Json | None]:
    """The board rows of these incidents exactly as the snapshot has them (the same `_incidents`
    builds both), by id; None for one that is not on the board (merged, or closed before today):
    the wall takes it off. What an event frame carries (wall/frames.py), so
    that a wall applies an event without a request. Two queries, whatever the number of ids."""
    out: dict[int, _Json | None] = dict.fromkeys(incident_ids)
    if not incident_ids:
        return out
    day_start, _day_end = local_day_bounds(local_today(now or timezone.now()))
    rows, _deadlines = _incidents(Incident.objects.filter(_on_board(day_start), pk__in=incident_ids), _Iso())
    out.update((row["id"], row) for row in rows)
    return out


# --- members -------------------------------------------------------------------------------------

def _shift_rows(shifts: list[_Json] | None, now: datetime, zone: ZoneInfo) -> tuple[list[_Json], list[float] | None]:
    """The shifts PostgreSQL wrote as JSON ({s, e: ISO 8601 in UTC; x, y: the post}) as the wall
    reads them (local times, the post as [lon, lat] or null), and the post of the one covering
    `now` (the first, if it has started)."""
    out: list[_Json] = []
    covering: list[float] | None = None
    for i, shift in enumerate(shifts or []):
        starts_at = datetime.fromisoformat(shift["s"])
        post = _xy(shift["x"], shift["y"])
        if i == 0 and starts_at <= now:
            covering = post
        out.append({"starts_at": starts_at.astimezone(zone).isoformat(),
                    "ends_at": datetime.fromisoformat(shift["e"]).astimezone(zone).isoformat(), "post": post})
    return out, covering


def _members(subdistrict_id: int, now: datetime, iso: _Iso, *, only: list[int] | None = None) -> list[_Json]:
    """Every active member with their status, where to draw them and their duty shifts from now to
    the end of tomorrow (one query; `only`: these members).

    status: `busy` holds a live order (dispatched, accepted, arrived) on a case still handled on
    site (the recommendation's load), else `on_duty` when a duty shift covers now, else
    `off_duty`. point: the last shared position (`stale` when older than
    settings.POSITION_STALE_MINUTES, as the recommendation sees it); without one, a member on duty
    or busy is drawn at the post of their shift or their duty post (`at` null, `source`
    "duty_post"); otherwise null.

    shifts and duty_post: what the wall needs to know the member's duty as time passes, without
    asking (store.js flips on_duty / off_duty when a shift starts or ends, and draws a member
    coming on duty without a shared position at the shift's post, else the duty post). The shifts
    that end after now and start before the end of tomorrow (local), oldest first, each
    {starts_at, ends_at, post}: a wall that missed its reload at the day turn still knows the
    day's shifts. Shifts of a member never overlap; one may start as another ends."""
    stale_before = now - timedelta(minutes=settings.POSITION_STALE_MINUTES)
    zone = iso.zone
    until = local_day_bounds(local_today(now) + timedelta(days=1))[1]
    # The members holding a live order on an open on-site case: a hashed sub-plan run once, from
    # the few open cases of the sub-district.
    busy = DispatchOrder.objects.filter(state__in=LOAD_STATES, incident__subdistrict_id=subdistrict_id,
                                        incident__status__in=BUSY_STATUSES).values("member_id")
    # The member's shifts of the window, one JSON array per member (a sub-plan on their shifts).
    shifts = ArraySubquery(
        DutyShift.objects.filter(member=OuterRef("pk"), ends_at__gt=now, starts_at__lt=until).order_by("starts_at")
        .values(json=JSONObject(s="starts_at", e="ends_at", x=_x("post"), y=_y("post"))))
    members = Member.objects.filter(subdistrict_id=subdistrict_id, active=True)
    if only is not None:
        members = members.filter(pk__in=only)
    rows = (members
            .annotate(on_duty=on_duty_at(now), busy=ExpressionWrapper(Q(pk__in=busy), output_field=BooleanField()),
                      window=shifts, live_x=_x("position__point"), live_y=_y("position__point"),
                      post_x=_x("duty_post"), post_y=_y("duty_post"))
            .order_by("code")
            .values_list("id", "name", "force", "unit__name", "position__recorded_at", "on_duty", "busy",
                         "live_x", "live_y", "window", "post_x", "post_y"))
    force_labels = _labels(Force)
    out = []
    for (pk, name, force, unit, at, on_duty, is_busy, live_x, live_y, window, post_x, post_y) in rows:
        status = "busy" if is_busy else "on_duty" if on_duty else "off_duty"
        duty_post = _xy(post_x, post_y)
        own_shifts, shift_post = _shift_rows(window, now, zone)
        point = _xy(live_x, live_y)
        source: str | None = "live"
        if point is None:
            source = None
            if status != "off_duty":
                point = shift_post or duty_post
                source = "duty_post" if point is not None else None
        out.append({
            "id": pk, "name": name, "force": force, "force_label": force_labels.get(force, force), "unit": unit,
            "status": status, "point": point, "at": iso(at), "stale": at is not None and at < stale_before,
            "source": source, "duty_post": duty_post, "shifts": own_shifts,
        })
    return out


def member_rows(*, subdistrict_id: int, member_ids: list[int], now: datetime | None = None) -> dict[int, _Json | None]:
    """The rows of these members exactly as the snapshot has them (the same `_members` builds
    both), by id; None for one that is not on the wall (inactive, or of another sub-district). One
    query, whatever the number of ids."""
    out: dict[int, _Json | None] = dict.fromkeys(member_ids)
    if member_ids:
        out.update((row["id"], row) for row in _members(subdistrict_id, now or timezone.now(), _Iso(),
                                                         only=member_ids))
    return out


# --- grids, counts, alarms, events ----------------------------------------------------------------

def _grids(subdistrict_id: int, now: datetime, incidents: list[_Json]) -> list[_Json]:
    """The grids of the version in force with their load: the open incidents that fell in a grid
    of that code (an incident keeps the grid it was taken in, perhaps of an older version)."""
    version = (BoundaryVersion.objects.filter(subdistrict_id=subdistrict_id, status=BoundaryVersion.Status.PUBLISHED,
                                              effective_from__lte=now)
               .order_by("-effective_from", "-number").values("pk")[:1])
    load: dict[str, int] = defaultdict(int)
    for item in incidents:
        if item["grid"] is not None and item["status"] in flows.OPEN_STATUSES:
            load[item["grid"]["code"]] += 1
    return [{"code": code, "name": name, "load": load.get(code, 0)}
            for code, name in Grid.objects.filter(version=Subquery(version)).order_by("code").values_list("code", "name")]


def _counts(subdistrict_id: int, day_start: datetime, day_end: datetime, now: datetime,
            incidents: list[_Json], deadlines: dict[int, datetime]) -> _Json:
    """Today's incidents by category and by channel (merged duplicates not counted twice), the
    open ones, and the open ones whose arrival deadline has passed."""
    rows = (Incident.objects.filter(subdistrict_id=subdistrict_id, reported_at__gte=day_start, reported_at__lt=day_end)
            .exclude(status=Status.MERGED)
            .values_list("category__code", "category__name", "channel__code", "channel__name")
            .annotate(n=Count("id")).order_by())
    by_category: dict[tuple[str, str], int] = defaultdict(int)
    by_channel: dict[tuple[str, str], int] = defaultdict(int)
    for category_code, category_name, channel_code, channel_name, n in rows:
        by_category[(category_code, category_name)] += n
        by_channel[(channel_code, channel_name)] += n

    def ranked(counts: dict[tuple[str, str], int]) -> list[_Json]:
        return [{"code": c, "name": name, "count": n}
                for (c, name), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0]))]

    open_ids = [i["id"] for i in incidents if i["status"] in flows.OPEN_STATUSES]
    return {"by_category": ranked(by_category), "by_channel": ranked(by_channel),
            "today": sum(by_category.values()), "open": len(open_ids),
            "overdue": sum(1 for pk in open_ids if pk in deadlines and deadlines[pk] < now)}


def _alarms(subdistrict_id: int, iso: _Iso) -> list[_Json]:
    """The alarms still to handle (open, or snoozed until the SLA clock opens them again), newest first."""
    kind_labels = _labels(Alarm.Kind)
    rows = (Alarm.objects.filter(subdistrict_id=subdistrict_id, state__in=[Alarm.State.OPEN, Alarm.State.SNOOZED])
            .order_by("-raised_at", "-id")
            .values_list("id", "kind", "incident_id", "incident__number", "due_at", "raised_at", "state", "note",
                         "snoozed_until", "order__member_id", "order__member__name")[:ALARMS_SHOWN])
    return [{"id": pk, "kind": kind, "kind_label": kind_labels.get(kind, kind), "incident": incident_id,
             "number": number, "due_at": iso(due_at), "raised_at": iso(raised_at), "state": state, "note": note,
             "snoozed_until": iso(snoozed_until), "member": member_id, "member_name": member_name}
            for (pk, kind, incident_id, number, due_at, raised_at, state, note, snoozed_until, member_id,
                 member_name) in rows]


def _latest_events(subdistrict_id: int, last_event: int) -> list[_Json]:
    """The newest events up to `last_event`, newest first, as the socket sends them."""
    events = events_for_payload(IncidentEvent.objects.filter(subdistrict_id=subdistrict_id, pk__lte=last_event)
                                ).order_by("-pk")[:EVENTS_SHOWN]
    return [event_payload(e, e.incident) for e in events]


# --- the snapshot --------------------------------------------------------------------------------

def wall_state(*, subdistrict: WallSubdistrict, now: datetime | None = None) -> _Json:
    """The snapshot of the wall map (see the module docstring); `now` for tests."""
    last_event = last_event_id(subdistrict_id=subdistrict.id)  # first: see the module docstring
    now = now or timezone.now()
    iso = _Iso()
    day_start, day_end = local_day_bounds(local_today(now))
    incidents, deadlines = _incidents(
        Incident.objects.filter(_board_incidents(subdistrict.id, day_start), subdistrict_id=subdistrict.id)
        .order_by("-reported_at", "-id"), iso)
    return {
        "subdistrict": subdistrict.as_dict(),
        "now": iso(now),
        "last_event": last_event,
        "incidents": incidents,
        "members": _members(subdistrict.id, now, iso),
        "grids": _grids(subdistrict.id, now, incidents),
        "counts": _counts(subdistrict.id, day_start, day_end, now, incidents, deadlines),
        "alarms": _alarms(subdistrict.id, iso),
        "events": _latest_events(subdistrict.id, last_event),
    }


# --- the incident card ---------------------------------------------------------------------------

def _actor_name(event: IncidentEvent) -> str | None:
    if event.actor_member is not None:
        return event.actor_member.name
    user = event.actor
    if user is None:
        return None
    member: Member | None = getattr(user, "member", None)
    if member is not None:
        return member.name
    return user.get_full_name() or user.username


def wall_incident(*, subdistrict: WallSubdistrict, incident_id: int) -> _Json | None:
    """One incident of the sub-district as on the board, with its description, its whole timeline
    (oldest first, each event with its actor's name) and its on-site photos (thumbnail and large
    rendition, with the report event each came with); None when the sub-district has no such
    incident. Four queries."""
    iso = _Iso()
    found, _deadlines = _incidents(Incident.objects.filter(subdistrict_id=subdistrict.id, pk=incident_id), iso,
                       extra=("description",))
    if not found:
        return None
    item = found[0]
    # event_payload reads the case's id, number and current status
    incident = Incident(pk=item["id"], number=item["number"], status=item["status"])
    events = (IncidentEvent.objects.filter(incident_id=incident_id)
              .select_related("actor", "actor__member", "actor_member").order_by("pk"))
    item["timeline"] = [{**event_payload(e, incident), "actor": _actor_name(e)} for e in events]
    photos = IncidentPhoto.objects.filter(incident_id=incident_id).order_by("event_id", "position")
    item["photos"] = [{"id": pk, "event": event_id, "thumb_url": photo_url(pk, "thumb"), "url": photo_url(pk, "large")}
                      for pk, event_id in photos.values_list("pk", "event_id")]
    return item


# --- the replay of a past day ----------------------------------------------------------------------

def _origin_of(origin: Point | None, shift_post: Point | None, duty_post: Point | None,
               home: Point | None) -> Point | None:
    """Where a member set out from: as stored at dispatch, else as the recommendation would have
    ranked them without a live position (`dispatch.recommend._origin`): the post of the shift
    covering the dispatch, their duty post, their home."""
    return origin or shift_post or duty_post or home


def _routes_now(subdistrict_id: int,
                wanted: dict[int, tuple[Point, list[tuple[int, Point, str]]]]) -> dict[int, list[list[float]] | None]:
    """Routes of orders that have none stored: {order id: [[lon, lat], ...] or None}, computed now on
    the road network — per incident, every order's route from one search per travel mode
    (`RoadGraph.routes_to`). `wanted`: incident id -> (scene, [(order id, origin, mode), ...])."""
    if not wanted:
        return {}
    try:
        graph = routing.graph_for(subdistrict_id)
    except ValueError:  # no road network
        return {}
    out: dict[int, list[list[float]] | None] = {}
    for target, orders in wanted.values():
        origins_xy = routing.points_xy([origin for _pk, origin, _mode in orders])
        routes = graph.routes_to(routing.points_xy([target])[0], origins_xy, [mode for *_rest, mode in orders])
        for (pk, _origin, _mode), route in zip(orders, routes, strict=True):
            out[pk] = [list(p) for p in route] if route and len(route) >= 2 else None
    return out


def wall_replay(*, subdistrict: WallSubdistrict, day: date) -> _Json:
    """A past local day: the incidents reported on it with every status they went through that
    day, their orders with routes (as stored at dispatch; for older orders, computed now on the
    road network from where the member would have set out), and the members' tracks thinned to
    one point per member per TRACK_STEP_SECONDS. Four queries."""
    iso = _Iso()
    start, end = local_day_bounds(day)
    rows = list(Incident.objects.filter(subdistrict_id=subdistrict.id, reported_at__gte=start, reported_at__lt=end)
                .annotate(summary=Substr("description", 1, SUMMARY_CHARS)).order_by("reported_at", "id")
                .values_list("id", "number", "status", "category__code", "category__name", "channel__code",
                             "channel__name", "major", "location", "reported_at", "summary"))
    ids = [r[0] for r in rows]
    statuses: dict[int, list[list[str | None]]] = defaultdict(list)
    for incident_id, at, to_status in (IncidentEvent.objects.filter(incident_id__in=ids, at__lt=end)
                                       .exclude(to_status="").order_by("incident_id", "pk")
                                       .values_list("incident_id", "at", "to_status")):
        statuses[incident_id].append([iso(at), to_status])
    incidents: list[_Json] = []
    points: dict[int, Point | None] = {}
    for pk, number, status, cat_code, cat_name, ch_code, ch_name, major, location, reported_at, summary in rows:
        points[pk] = location
        incidents.append({
            "id": pk, "number": number, "category": _code_name(cat_code, cat_name),
            "channel": _code_name(ch_code, ch_name), "major": major, "point": _lonlat(location),
            "reported_at": iso(reported_at), "summary": summary,
            "statuses": statuses.get(pk) or [[iso(reported_at), status]],
        })

    shift_post = DutyShift.objects.filter(member=OuterRef("member_id"), starts_at__lte=OuterRef("dispatched_at"),
                                          ends_at__gt=OuterRef("dispatched_at")).values("post")[:1]
    order_rows = list(DispatchOrder.objects.filter(incident_id__in=ids).annotate(shift_post=Subquery(shift_post))
                      .order_by("dispatched_at", "id")
                      .values_list("id", "incident_id", "member_id", "member__name", "member__force",
                                   "member__travel_mode", "state", "dispatched_at", "arrive_by", "arrived_at", "route",
                                   "origin", "shift_post", "member__duty_post", "member__home"))
    missing: dict[int, tuple[Point, list[tuple[int, Point, str]]]] = {}
    for (pk, incident_id, _m, _n, _f, mode, _s, _d, _a, _r, route, origin, post, duty_post, home) in order_rows:
        start_at = _origin_of(origin, post, duty_post, home)
        scene = points.get(incident_id)
        if route is None and start_at is not None and scene is not None:
            missing.setdefault(incident_id, (scene, []))[1].append((pk, start_at, mode))
    computed = _routes_now(subdistrict.id, missing)
    orders = []
    for (pk, incident_id, member_id, member_name, force, _mode, state, dispatched_at, arrive_by, arrived_at, route,
         *_where) in order_rows:
        orders.append({"id": pk, "incident": incident_id, "member": member_id, "member_name": member_name,
                       "force": force, "state": state, "dispatched_at": iso(dispatched_at),
                       "arrive_by": iso(arrive_by), "arrived_at": iso(arrived_at),
                       "route": _line(route) if route is not None else computed.get(pk)})

    return {"date": day.isoformat(), "start": iso(start), "end": iso(end), "incidents": incidents, "orders": orders,
            "tracks": _tracks(subdistrict.id, start, end, iso)}


def _tracks(subdistrict_id: int, start: datetime, end: datetime, iso: _Iso) -> dict[str, list[list[Any]]]:
    """The day's position fixes of the sub-district's members, the first of each member's
    TRACK_STEP_SECONDS-long slot (DISTINCT ON in the database; the BRIN index on the time finds the day)."""
    slot = Floor(Func(F("recorded_at"), function="EXTRACT", template="EXTRACT(EPOCH FROM %(expressions)s)",
                      output_field=FloatField()) / TRACK_STEP_SECONDS)
    rows = (PositionFix.objects.filter(member__subdistrict_id=subdistrict_id, recorded_at__gte=start,
                                       recorded_at__lt=end)
            .annotate(slot=slot, lon=Func(F("point"), function="ST_X", output_field=FloatField()),
                      lat=Func(F("point"), function="ST_Y", output_field=FloatField()))
            .order_by("member_id", "slot", "recorded_at").distinct("member_id", "slot")
            .values_list("member_id", "slot", "recorded_at", "lon", "lat"))
    tracks: dict[str, list[list[Any]]] = defaultdict(list)
    for member_id, _slot, at, lon, lat in rows:
        tracks[str(member_id)].append([iso(at), round(lon, 6), round(lat, 6)])
    return dict(tracks)
