"""The responders' app API (/api/v1/m/): a member's own work, for the phone page /m/ (issue 10).

Only for a logged-in user linked to an active member (anybody else: 403, whatever their role — the
staff roles read the whole sub-district elsewhere). A member sees their own orders only: another
member's order is a 404, as if it did not exist. Reads only; the actions go to the endpoints that
already exist (accept / decline under dispatch/orders/, the case's moves under
incidents/{id}/transitions/, positions/).

`actions` of an order are the on-site moves the member may make now: the transitions of
`incidents.api_support.transitions_permitted` — the rule the service checks — among ON_SITE_ACTIONS,
so that a button the phone shows is one the service takes (an arrival also needs this order still
on the way: the service refuses it otherwise). A finished order (declined, stood down) offers none.

The case of an order carries its caller and its people (`parties`): names, phones and ID numbers
masked, never in full — a member holding a current order of the case reveals a caller's or a
person's name and phone through `POST incidents/{id}/reveal/` (logged in the timeline) to call
them (`may_reveal_contacts`) — and the photos this member sent with their reports (`photos`),
except on a declined order, whose case the member no longer sees.

The member comes with their grids (`grids`): those of the version in force, and those of a version
published to take effect later (`upcoming`, with its `effective_from`) — a published version tells
each member whose grids change by a message too (planner/notify.py), and the app reloads this on
every message.
"""

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef
from django.db.models.functions import JSONObject
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from dispatch import flows as order_flows
from dispatch import selectors
from dispatch.models import DispatchOrder, Member
from incidents import flows
from incidents.api_support import transitions_permitted
from incidents.models import Incident, IncidentPhoto, Party
from incidents.selectors import contact_reveal_allowed
from incidents.serializers import photo_url

# The moves a dispatched member makes from the scene, in the order the phone shows them.
ON_SITE_ACTIONS = ("arrive", "report_on_site", "request_transfer", "resolve", "note")
COORDINATE_DECIMALS = 6

NOT_A_MEMBER = _("This app is for the responders of the linkage forces: your login is not linked to an "
                 "active member.")


def _lon_lat(point) -> list[float] | None:
    return None if point is None else [round(point.x, COORDINATE_DECIMALS), round(point.y, COORDINATE_DECIMALS)]


class MemberPositionSerializer(serializers.Serializer):
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    recorded_at = serializers.DateTimeField()
    accuracy_m = serializers.FloatField(allow_null=True)


class MemberGridSerializer(serializers.Serializer):
    """A grid the member serves (`dispatch.selectors.member_grids`)."""

    code = serializers.CharField()
    name = serializers.CharField()
    community = serializers.CharField(source="community.name")
    effective_from = serializers.DateTimeField(help_text="When its grid version took effect, or takes effect.")
    upcoming = serializers.BooleanField(help_text="A grid of a published version not in force yet: served from "
                                                  "`effective_from`.")


class MemberSelfSerializer(serializers.Serializer):
    """The member themself (annotated by `dispatch.selectors.member_of_user`; `work_grids` set by
    the view from `dispatch.selectors.member_grids`)."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    force = serializers.CharField()
    force_display = serializers.CharField(source="get_force_display")
    unit = serializers.CharField(source="unit.name")
    travel_mode = serializers.CharField()
    on_duty = serializers.BooleanField(help_text="A duty shift covers now.")
    position = serializers.SerializerMethodField(help_text="The last known position (WGS 84), null if none.")
    grids = MemberGridSerializer(
        many=True, source="work_grids", default=list,
        help_text="The grids the member serves in the version in force, then those of a published version not in "
                  "force yet (`upcoming`), by effective time and code.")

    @extend_schema_field(MemberPositionSerializer(allow_null=True))
    def get_position(self, member):
        if member.last_point is None:
            return None
        lon, lat = _lon_lat(member.last_point)
        return MemberPositionSerializer({"lon": lon, "lat": lat, "recorded_at": member.last_recorded_at,
                                         "accuracy_m": member.last_accuracy_m}).data


class WorkOrderSerializer(serializers.ModelSerializer):
    state_display = serializers.CharField(source="get_state_display")
    can_accept = serializers.SerializerMethodField()
    can_decline = serializers.SerializerMethodField()

    class Meta:
        model = DispatchOrder
        fields = ["id", "state", "state_display", "method", "dispatched_at", "arrive_by", "accepted_at",
                  "arrived_at", "declined_at", "decline_reason", "stood_down_at", "stand_down_reason",
                  "travel_seconds", "arrival_distance_m", "arrival_flagged", "can_accept", "can_decline"]

    # The member answers their own order while the case is handled (the service's own checks).
    def get_can_accept(self, order) -> bool:
        return order.incident.status in flows.OPEN_STATUSES and order_flows.order_may("accept", order.state)

    def get_can_decline(self, order) -> bool:
        return order.incident.status in flows.OPEN_STATUSES and order_flows.order_may("decline", order.state)


class WorkPartySerializer(serializers.Serializer):
    """A person involved, as the responder on the scene sees them: name, phone and ID number masked."""

    id = serializers.IntegerField()
    name = serializers.CharField(source="name_masked", help_text="Masked (张*).")
    role = serializers.CharField()
    role_display = serializers.CharField(source="get_role_display")
    phone_masked = serializers.CharField()
    id_number_masked = serializers.CharField()


class WorkPhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    thumb_url = serializers.CharField()
    url = serializers.CharField(help_text="The large rendition.")


class CaseSummarySerializer(serializers.Serializer):
    """A case in a line, as the responders' app lists it (here and in dispatch/leader_api.py); the
    category's name in the active language. `address_text` is typed by the public: the client shows
    it as text, never as markup."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    category = serializers.SerializerMethodField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    major = serializers.BooleanField()
    address_text = serializers.CharField()

    def get_category(self, incident) -> str:
        return incident.category.display_name()


class WorkIncidentSerializer(CaseSummarySerializer):
    """The case of an order. `description` and `address_text` are typed by the public: the client
    shows them as text, never as markup. `parties` and `photos` come from `case_extras_load`."""

    description = serializers.CharField()
    caller_name = serializers.CharField(source="caller_name_masked", help_text="Masked.")
    caller_phone = serializers.CharField(source="caller_phone_masked", help_text="Masked.")
    location = serializers.SerializerMethodField(help_text="[lon, lat] (WGS 84), null without a point.")
    parties = WorkPartySerializer(many=True, source="work_parties", default=list,
                                  help_text="The people registered on the case (empty on a declined order).")
    photos = WorkPhotoSerializer(many=True, source="work_photos", default=list,
                                 help_text="The photos this member sent with their reports of the case.")

    @extend_schema_field({"type": "array", "items": {"type": "number"}, "nullable": True})
    def get_location(self, incident):
        return _lon_lat(incident.location)


class WorkActionSerializer(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like a Field attribute
    requires = serializers.ListField(child=serializers.CharField())


class WorkItemSerializer(serializers.Serializer):
    """One order of the member with its case, the road route drawn at dispatch and the on-site
    moves the member may make now. Context: `request`."""

    live = serializers.SerializerMethodField(help_text="Still to do: current, on a case handled on site.")
    finished_at = serializers.DateTimeField(allow_null=True, help_text="Null while live.")
    order = serializers.SerializerMethodField()
    incident = WorkIncidentSerializer()
    route = serializers.SerializerMethodField(help_text="[[lon, lat], …] from where the member set out, or null.")
    actions = serializers.SerializerMethodField()
    may_reveal_contacts = serializers.SerializerMethodField(
        help_text="The member may reveal the caller's and the people's names and phones (to call them): "
                  "POST incidents/{id}/reveal/, logged in the timeline.")

    def to_representation(self, order):
        data = super().to_representation(order)
        if data["live"]:
            data["finished_at"] = None
        return data

    def get_live(self, order) -> bool:
        return selectors.order_is_live(order)

    def get_may_reveal_contacts(self, order) -> bool:
        # `incident.orders` holds this member's orders only (dispatch.selectors._member_orders): the rule
        # asks for this member's current order.
        return contact_reveal_allowed(user=self.context["request"].user, incident=order.incident)

    @extend_schema_field(WorkOrderSerializer)
    def get_order(self, order):
        return WorkOrderSerializer(order).data

    @extend_schema_field({"type": "array", "items": {"type": "array", "items": {"type": "number"}}, "nullable": True})
    def get_route(self, order):
        if order.route is None or len(order.route) < 2:
            return None
        return [[round(x, COORDINATE_DECIMALS), round(y, COORDINATE_DECIMALS)] for x, y in order.route.coords]

    @extend_schema_field(WorkActionSerializer(many=True))
    def get_actions(self, order):
        if order.state in DispatchOrder.ENDED_STATES:
            return []
        permitted = {t.action: t for t in transitions_permitted(user=self.context["request"].user,
                                                                incident=order.incident)}
        out = []
        for action in ON_SITE_ACTIONS:
            t = permitted.get(action)
            if t is None or (action == "arrive" and order.state not in DispatchOrder.LIVE_STATES):
                continue
            out.append({"action": t.action, "label": str(t.label), "requires": list(t.requires)})
        return out


class MemberWorkSerializer(serializers.Serializer):
    now = serializers.DateTimeField(help_text="The server's clock (the phone corrects its countdowns by it).")
    member = MemberSelfSerializer()
    orders = WorkItemSerializer(many=True, help_text="Live orders (newest dispatch first), then those finished "
                                                     "in the last 24 hours (most recent first).")


class WorkOrderDetailSerializer(serializers.Serializer):
    now = serializers.DateTimeField()
    item = WorkItemSerializer()


def case_extras_load(orders: list[DispatchOrder], member: Member) -> None:
    """Set `work_parties` (Party instances) and `work_photos` ({id, thumb_url, url}) on the case of
    each order the member did not decline: one query whatever the number of orders."""
    cases: dict[int, list[Incident]] = {}
    for order in orders:
        if order.state != DispatchOrder.State.DECLINED:
            cases.setdefault(order.incident_id, []).append(order.incident)
    if not cases:
        return
    parties = (Party.objects.filter(incident=OuterRef("pk")).order_by("registered_at", "id")
               .values(row=JSONObject(id="id", name="name", role="role", phone="phone", id_number="id_number")))
    photos = (IncidentPhoto.objects.filter(incident=OuterRef("pk"), member=member).order_by("event_id", "position")
              .values("id"))
    rows = (Incident.objects.filter(pk__in=cases)
            .annotate(party_rows=ArraySubquery(parties), photo_ids=ArraySubquery(photos))
            .values_list("pk", "party_rows", "photo_ids"))
    for pk, party_rows, photo_ids in rows:
        for case in cases[pk]:
            # Read by the serializer (not fields of the model):
            case.work_parties = [Party(**row) for row in party_rows]  # type: ignore[attr-defined]
            case.work_photos = [  # type: ignore[attr-defined]
                {"id": i, "thumb_url": photo_url(i, "thumb"), "url": photo_url(i, "large")} for i in photo_ids]


class _MemberView(generics.GenericAPIView):
    """Admits a logged-in user linked to an active member (403 otherwise)."""

    def member(self):
        member = selectors.member_of_user(user=self.request.user)
        if member is None:
            raise PermissionDenied(NOT_A_MEMBER)
        return member


class MemberWorkView(_MemberView):
    @extend_schema(summary="The responder's own work: the member and their grids, live orders, then the last 24 "
                           "hours' finished",
                   description="403 for a user not linked to an active member.", responses=MemberWorkSerializer)
    def get(self, request):
        now = timezone.now()
        work = selectors.member_work(member=self.member(), at=now)
        orders = [*work.live, *work.finished]
        case_extras_load(orders, work.member)
        work.member.work_grids = selectors.member_grids(member=work.member, at=now)
        data = {"now": now, "member": work.member, "orders": orders}
        return Response(MemberWorkSerializer(data, context={"request": request}).data)


class MemberOrderView(_MemberView):
    @extend_schema(summary="One of the responder's own orders (another member's: 404)",
                   responses=WorkOrderDetailSerializer)
    def get(self, request, pk: int):
        member = self.member()
        order = selectors.member_order(member=member, order_id=pk)
        if order is None:
            raise Http404
        case_extras_load([order], member)
        return Response(WorkOrderDetailSerializer({"now": timezone.now(), "item": order},
                                                  context={"request": request}).data)
