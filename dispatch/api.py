"""Members of the linkage forces as a GeoJSON map layer (read-only).

Staff roles (config.roles.STAFF_ROLES) see every member of the sub-district; a responder sees
only the member linked to their own user (another member's detail is a 404, not a 403, so ids
of others are not confirmed); every other role is refused (403)."""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.db import connection
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.permissions import BasePermission, OperandHolder, SingleOperandHolder
from rest_framework.response import Response
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from config.errors import DomainError
from config.inputs import ascii_int
from config.parsers import CheckedFormParser, CheckedJSONParser, CheckedMultiPartParser
from config.permissions import MEMBER_MAP_ROLES, HasRole, is_staff_role
from config.roles import COMMAND_ROLES, STAFF_ROLES, has_role
from config.schema import error_response
from dispatch import positions, selectors, services
from dispatch.models import Alarm, DispatchOrder, Force, Member, MemberMessage
from dispatch.recommend import incident_facts, recommend
from geo.api import SUBDISTRICT_PARAMETER, SubdistrictScopedMixin
from geo.selectors import boundary_version_in_force
from geo.serializers import geometry_field
from incidents import api as incidents_api
from incidents import api_support, flows
from incidents.idempotency import IdempotentMixin
from incidents.models import Incident
from incidents.serializers import (
    IncidentDetailSerializer,
    MergeInputSerializer,
    RecommendationQuerySerializer,
    RecommendationSerializer,
    TransitionInputSerializer,
)


class MemberMapSerializer(GeoFeatureModelSerializer):
    """A member at their last known position, else at home."""

    # Expects the annotations of `dispatch.selectors.member_map_list`. The geometry is the
    # annotated `map_point`; the field keeps the name of the model's `home` PointField so that
    # the OpenAPI schema knows it is a Point.
    home = geometry_field(source="map_point")
    force_display = serializers.CharField(source="get_force_display", read_only=True)
    unit = serializers.CharField(source="unit.name", read_only=True)
    on_duty = serializers.BooleanField(read_only=True)
    position_recorded_at = serializers.DateTimeField(read_only=True, allow_null=True)
    grids = serializers.SerializerMethodField()

    class Meta:
        model = Member
        geo_field = "home"
        fields = [
            "id",
            "code",
            "name",
            "force",
            "force_display",
            "unit",
            "on_duty",
            "grids",
            "position_recorded_at",
        ]

    def get_grids(self, member) -> list[str]:
        return [grid.code for grid in member.map_grids]


class MemberMapMixin(SubdistrictScopedMixin):
    # Typed as DRF's generic views type them: the mixin is listed before the view class.
    permission_classes: Sequence[type[BasePermission] | OperandHolder | SingleOperandHolder] = [HasRole]
    allowed_roles = MEMBER_MAP_ROLES
    pagination_class: type[BasePagination] | None = None
    serializer_class: type[serializers.BaseSerializer[Any]] | None = MemberMapSerializer

    def get_queryset(self):
        subdistrict = self.get_subdistrict()
        user = self.request.user
        return selectors.member_map_list(
            subdistrict=subdistrict,
            grid_version=boundary_version_in_force(subdistrict=subdistrict),
            only_user=None if is_staff_role(user) else user,
        )


@extend_schema_view(get=extend_schema(parameters=[SUBDISTRICT_PARAMETER]))
class MemberListView(MemberMapMixin, generics.ListAPIView):
    """Members at their last known position (else home), with the on-duty-now flag."""


@extend_schema_view(get=extend_schema(parameters=[SUBDISTRICT_PARAMETER]))
class MemberDetailView(MemberMapMixin, generics.RetrieveAPIView):
    """One member as a GeoJSON Feature."""


# --- orders, escalation level, alarms (issue 4: dispatch and the SLA clock) ----------------------
#
# Thin views over dispatch/services.py. A case the user may not see is a 404 for every endpoint
# below (its orders and alarms included), never a 403; the services decide who may act.

ORDER_FIELDS = ["id", "incident", "member", "unit", "force", "state", "state_display", "method", "level",
                "dispatched_at", "arrive_by", "accepted_at", "declined_at", "decline_reason", "arrived_at",
                "arrival_distance_m", "arrival_flagged", "overdue_escalated_at", "off_duty_override",
                "stood_down_at", "stand_down_reason", "replaces",
                "can_accept", "can_decline", "can_stand_down"]


def _visible_or_404(request, incident_id: int) -> None:
    if not api_support.incident_is_visible(user=request.user, incident_id=incident_id):
        raise Http404


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class MemberRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DispatchOrderSerializer(serializers.ModelSerializer):
    """One dispatch order; `can_accept` / `can_decline`: whether the requesting user may answer it
    now (the member themself, or a dispatcher on their behalf). Context: `request`."""

    incident = serializers.IntegerField(source="incident_id", read_only=True)
    member = MemberRefSerializer(read_only=True)
    unit = serializers.CharField(source="member.unit.name", read_only=True)
    force = serializers.CharField(source="member.force", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    can_accept = serializers.SerializerMethodField()
    can_decline = serializers.SerializerMethodField()
    can_stand_down = serializers.SerializerMethodField()
    replaces = serializers.IntegerField(source="replaces_id", read_only=True, allow_null=True)

    class Meta:
        model = DispatchOrder
        fields = ORDER_FIELDS
        read_only_fields = ORDER_FIELDS

    def _may_answer(self, order) -> bool:
        if not self.context.get("open", True):  # nothing to answer on a case no longer handled
            return False
        user = self.context["request"].user
        member = getattr(user, "member", None)
        return (member is not None and member.pk == order.member_id) or has_role(user, *COMMAND_ROLES)

    def get_can_accept(self, order) -> bool:
        return order.state == DispatchOrder.State.DISPATCHED and self._may_answer(order)

    def get_can_decline(self, order) -> bool:
        return order.state in DispatchOrder.LIVE_STATES and self._may_answer(order)

    def get_can_stand_down(self, order) -> bool:
        return (order.state in DispatchOrder.LIVE_STATES and self.context.get("open", True)
                and has_role(self.context["request"].user, *COMMAND_ROLES))


class AlarmSerializer(serializers.ModelSerializer):
    """An alarm of the SLA clock. `notified`: the members told (ids and names). Context:
    `names` (member id → name) for the names."""

    incident = serializers.SerializerMethodField()
    order = serializers.IntegerField(source="order_id", read_only=True, allow_null=True)
    member = serializers.SerializerMethodField()
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    notified = serializers.SerializerMethodField()
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", default=None, read_only=True,
                                            allow_null=True)
    handover = serializers.SerializerMethodField()

    class Meta:
        model = Alarm
        fields = ["id", "incident", "order", "member", "handover", "kind", "kind_display", "state", "state_display",
                  "due_at", "raised_at", "notified", "snoozed_until", "acknowledged_at", "acknowledged_by", "note",
                  "ack_step", "ack_step_at"]

    @extend_schema_field({"type": "object", "nullable": True,
                          "properties": {"id": {"type": "integer"}, "unit": {"type": "string"}}})
    def get_handover(self, alarm):
        """The office's part a hand-over alarm is about."""
        if alarm.handover_id is None:
            return None
        return {"id": alarm.handover_id, "unit": alarm.handover.unit.name}

    @extend_schema_field({"type": "object", "properties": {"id": {"type": "integer"}, "number": {"type": "string"}}})
    def get_incident(self, alarm):
        return {"id": alarm.incident_id, "number": alarm.incident.number}

    @extend_schema_field({"type": "object", "nullable": True,
                          "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                         "unit": {"type": "string"}}})
    def get_member(self, alarm):
        if alarm.order_id is None:
            return None
        member = alarm.order.member
        return {"id": member.pk, "name": member.name, "unit": member.unit.name}

    @extend_schema_field(MemberRefSerializer(many=True))
    def get_notified(self, alarm):
        names = self.context.get("names", {})
        return [{"id": pk, "name": names.get(pk, "")} for pk in alarm.notified]


def _alarms_data(alarms) -> list[Any]:
    alarms = list(alarms)
    names = selectors.member_names(member_ids=[pk for a in alarms for pk in a.notified])
    # many=True makes a ListSerializer, whose data is a ReturnList (the stubs type it as the child's).
    return cast(list[Any], AlarmSerializer(alarms, many=True, context={"names": names}).data)


def _alarm_data(alarm_id: int):
    return _alarms_data(Alarm.objects.select_related("incident", "order__member__unit", "handover__unit", "acknowledged_by")
                        .filter(pk=alarm_id))[0]


class DeclineInputSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, trim_whitespace=False)


class StandDownInputSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, trim_whitespace=False,
                                   help_text="Why the member is no longer needed (shown in the timeline).")


class ReplaceInputSerializer(serializers.Serializer):
    member = serializers.IntegerField(min_value=1, help_text="The member to send (the proposed replacement).")
    method = serializers.ChoiceField(choices=DispatchOrder.Method.choices, default=DispatchOrder.Method.PHONE)
    off_duty_override = serializers.BooleanField(default=False)


class ReplacementSerializer(serializers.Serializer):
    """Who to send in place of a declined or late order (`dispatch.selectors.replacements`)."""

    order = serializers.IntegerField(help_text="The declined or overdue order.")
    member = MemberRefSerializer(help_text="The member of that order.")
    why = serializers.ChoiceField(choices=["declined", "overdue"])
    decline_reason = serializers.CharField(allow_blank=True)
    candidate = serializers.DictField(allow_null=True, help_text="{id, name, force, force_display, unit, rule, "
                                      "travel_seconds, deadline_minutes, reason}; null: nobody of the same rule or "
                                      "force is available (raise the level).")
    same_rule = serializers.BooleanField()
    can_send = serializers.BooleanField()


def replacements_data(request, incident_id: int, *, is_open: bool = True) -> list[dict]:
    """The replacement proposals of a case as the incident page and the wall card show them: for the
    staff roles only (other members' names, units and travel times are not a responder's business);
    `can_send` for those who may dispatch."""
    if not has_role(request.user, *STAFF_ROLES):
        return []
    forces = dict(Force.choices)
    dispatch_step = cast(flows.Transition, flows.transition_for("dispatch"))  # a transition of the flow
    may_send = is_open and has_role(request.user, *dispatch_step.roles)
    out = []
    for item in selectors.replacements(incident_id=incident_id):
        order, c = item["order"], item["candidate"]
        out.append({
            "order": order.pk, "member": {"id": order.member_id, "name": order.member.name},
            "why": "declined" if order.state == DispatchOrder.State.DECLINED else "overdue",
            "decline_reason": order.decline_reason,
            "candidate": None if c is None else {
                "id": c.member_id, "name": c.name, "force": c.force, "force_display": str(forces.get(c.force, c.force)),
                "unit": c.unit_name, "rule": c.rule.name if c.rule else None, "travel_seconds": c.travel_seconds,
                "deadline_minutes": c.deadline_minutes, "on_duty": c.on_duty, "reason": c.reason},
            "same_rule": item["same_rule"], "can_send": may_send and c is not None,
        })
    return out


class LevelInputSerializer(serializers.Serializer):
    level = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                     help_text="The new level; default: one above the present one.")
    note = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, default="")


class AcknowledgeInputSerializer(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, trim_whitespace=False)


class SnoozeInputSerializer(serializers.Serializer):
    minutes = serializers.IntegerField(min_value=1, max_value=services.SNOOZE_MAX_MINUTES)
    note = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, default="")


# --- reaching a person: was each one told, did they see it (issue 10) -----------------------------

MESSAGE_STATUSES = {
    "seen": "read in the app (`read_at`)",
    "sent": "not read in the app, sent outbound by the gateway (`sent_at`)",
    "waiting": "not read in the app yet; the outbound gateway was not tried yet (the grace runs)",
    "retrying": "not read; the gateway was tried (`attempts`, `last_error`) and did not take it yet",
    "skipped": "not read, and nobody to send it to outbound (no phone, member no longer active)",
}


def message_status_word(message: MemberMessage) -> str:
    """One word for where a message stands (MESSAGE_STATUSES)."""
    if message.read_at is not None:
        return "seen"
    if message.state == MemberMessage.State.SENT:
        return "sent"
    if message.state in (MemberMessage.State.SKIPPED_OFF, MemberMessage.State.SKIPPED_READ):
        return "skipped"
    return "retrying" if message.attempts else "waiting"


class MemberMessageStatusSerializer(serializers.ModelSerializer):
    """One message of a case and whether it reached its member: `created_at` (told), `read_at`
    (seen in the app), the outbound `state`, `sent_at`, `attempts`, `last_error`, and `status`, one
    word for all of it. `order` / `alarm`: what it tells of."""

    member = MemberRefSerializer(read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    order = serializers.IntegerField(source="order_id", read_only=True, allow_null=True)
    alarm = serializers.IntegerField(source="alarm_id", read_only=True, allow_null=True)
    status = serializers.SerializerMethodField(
        help_text="; ".join(f"{word}: {meaning}" for word, meaning in MESSAGE_STATUSES.items()))

    class Meta:
        model = MemberMessage
        fields = ["id", "member", "kind", "kind_display", "order", "alarm", "created_at", "read_at", "state",
                  "sent_at", "attempts", "last_error", "status"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)  # one of MESSAGE_STATUSES (no enum: "status" names others)
    def get_status(self, message) -> str:
        return message_status_word(message)


def case_messages(request, incident_id: int) -> list[MemberMessage]:
    """The case's messages (`selectors.message_status`, one query) the user may see: every one for
    the staff roles, else only their own member's."""
    messages = selectors.message_status(incident_id=incident_id)
    if has_role(request.user, *STAFF_ROLES):
        return messages
    own = getattr(request.user, "member", None)
    return [m for m in messages if own is not None and m.member_id == own.pk]


def order_messages(messages: list[MemberMessage]) -> dict[int, MemberMessage]:
    """Each order's own `order` message (the new order told to its member), by order id."""
    return {m.order_id: m for m in messages if m.kind == MemberMessage.Kind.ORDER and m.order_id is not None}


class IncidentOrderSerializer(DispatchOrderSerializer):
    """An order on the incident page, with when its member was told of it and saw it. Expects the
    attributes `told_at` / `seen_at` set from `order_messages` (None when there is no message)."""

    told_at = serializers.DateTimeField(read_only=True, allow_null=True, default=None,
                                        help_text="When the order's message was written to the member")
    seen_at = serializers.DateTimeField(read_only=True, allow_null=True, default=None,
                                        help_text="When the member read it in the app")
    reminded_at = serializers.DateTimeField(read_only=True, allow_null=True, default=None,
                                            help_text="When the order was last sent again (SLA clock or a dispatcher)")
    can_remind = serializers.BooleanField(read_only=True, default=False,
                                          help_text="Not accepted yet, the user dispatches, and the last reminder "
                                                    "is REMIND_MIN_INTERVAL_SECONDS old (POST …/remind/)")

    class Meta(DispatchOrderSerializer.Meta):
        fields = [*ORDER_FIELDS, "confirm_step", "told_at", "seen_at", "reminded_at", "can_remind"]
        read_only_fields = fields


class IncidentDispatchSerializer(serializers.Serializer):
    """A case's escalation level, orders and alarms as the incident page shows them, with what the
    requesting user may do (`can_raise_level`, `can_handle_alarms`, per order `can_accept` /
    `can_decline`), and whether each person was reached (`messages`; per order `told_at` /
    `seen_at`)."""

    incident = serializers.IntegerField()
    number = serializers.CharField()
    level = serializers.IntegerField()
    max_level = serializers.IntegerField()
    can_raise_level = serializers.BooleanField()
    can_handle_alarms = serializers.BooleanField()
    unconfirmed = serializers.IntegerField(help_text="Orders dispatched and not accepted yet (“N人未确认”)")
    orders = IncidentOrderSerializer(many=True)
    alarms = AlarmSerializer(many=True)
    replacements = ReplacementSerializer(many=True)
    messages = MemberMessageStatusSerializer(many=True, help_text="Every message of the case the user may see "
                                             "(staff roles: all; others: their own), oldest first; an alarm's "
                                             "recipients are the messages whose `alarm` is its id.")


def _incident_dispatch(request, incident_id: int) -> dict:
    incident = Incident.objects.only("id", "number", "level", "status").get(pk=incident_id)
    is_open = incident.status in flows.OPEN_STATUSES
    orders = list(selectors.incident_orders(incident_id=incident_id))
    alarms = selectors.alarm_list(user=request.user, incident_id=incident_id)
    messages = case_messages(request, incident_id)
    told = order_messages(messages)
    reminded = {m.order_id: m.created_at for m in messages if m.kind == MemberMessage.Kind.RESEND}
    may_remind = is_open and has_role(request.user, *COMMAND_ROLES)
    remind_before = timezone.now() - timedelta(seconds=settings.REMIND_MIN_INTERVAL_SECONDS)
    for order in orders:
        message = told.get(order.pk)
        reminded_at = reminded.get(order.pk)
        # Read by the serializer (not fields of the model):
        order.told_at = message.created_at if message else None  # type: ignore[attr-defined]
        order.seen_at = message.read_at if message else None  # type: ignore[attr-defined]
        order.reminded_at = reminded_at  # type: ignore[attr-defined]
        order.can_remind = (may_remind and order.state == DispatchOrder.State.DISPATCHED  # type: ignore[attr-defined]
                            and (reminded_at is None or reminded_at <= remind_before))
    top = services.escalation_max_level()
    return {
        "incident": incident.pk, "number": incident.number, "level": incident.level,
        "max_level": top,
        "can_raise_level": is_open and incident.level < top and has_role(request.user, *COMMAND_ROLES),
        "can_handle_alarms": has_role(request.user, *COMMAND_ROLES),
        "unconfirmed": sum(1 for order in orders if order.state == DispatchOrder.State.DISPATCHED),
        "orders": IncidentOrderSerializer(orders, many=True, context={"request": request, "open": is_open}).data,
        "alarms": _alarms_data(alarms),
        "replacements": replacements_data(request, incident_id, is_open=is_open),
        "messages": MemberMessageStatusSerializer(messages, many=True).data,
    }


class IncidentDispatchView(generics.GenericAPIView):
    permission_classes = [HasRole]

    @extend_schema(summary="A case's escalation level, orders and alarms", responses=IncidentDispatchSerializer)
    def get(self, request, pk: int):
        _visible_or_404(request, pk)
        return Response(_incident_dispatch(request, pk))


class IncidentLevelView(IdempotentMixin, generics.GenericAPIView):
    permission_classes = [HasRole]
    allowed_roles = COMMAND_ROLES

    @extend_schema(summary="Raise a case's escalation level (the recommendation then adds the next ring)",
                   description="409 when the case is at that level already or no longer handled.",
                   request=LevelInputSerializer, responses=IncidentDispatchSerializer)
    def post(self, request, pk: int):
        _visible_or_404(request, pk)
        data = _valid(LevelInputSerializer, request.data)
        services.incident_raise_level(incident_id=pk, actor=request.user, level=data["level"], note=data["note"])
        return Response(_incident_dispatch(request, pk))


class _OrderAnswerView(IdempotentMixin, generics.GenericAPIView):
    permission_classes = [HasRole]

    def _answer(self, request, pk: int, call):
        incident_id = DispatchOrder.objects.filter(pk=pk).values_list("incident_id", flat=True).first()
        if incident_id is None:
            raise Http404
        _visible_or_404(request, incident_id)
        order = call()
        order = selectors.incident_orders(incident_id=order.incident_id).get(pk=order.pk)
        return Response(DispatchOrderSerializer(order, context={"request": request}).data)


class OrderAcceptView(_OrderAnswerView):
    @extend_schema(summary="Accept a dispatch order (the member, or a dispatcher on their behalf)",
                   description="403 for anybody else; 409 when the order is accepted already or finished.",
                   request=None, responses=DispatchOrderSerializer)
    def post(self, request, pk: int):
        return self._answer(request, pk, lambda: services.order_accept(order_id=pk, actor=request.user))


class OrderDeclineView(_OrderAnswerView):
    @extend_schema(summary="Decline a dispatch order with a reason (the member, or a dispatcher on their behalf)",
                   description="The member is free again. 403 for anybody else; 409 when the order is finished.",
                   request=DeclineInputSerializer, responses=DispatchOrderSerializer)
    def post(self, request, pk: int):
        data = _valid(DeclineInputSerializer, request.data)
        return self._answer(request, pk, lambda: services.order_decline(order_id=pk, actor=request.user,
                                                                        reason=data["reason"]))


class OrderStandDownView(_OrderAnswerView):
    @extend_schema(summary="Stand a responder down: no longer needed on this case (command room, dispatcher)",
                   description="The order ends; the SLA clock never raises it again and its open alarms are "
                               "settled. 403 for other roles; 409 when the order is no longer on the way.",
                   request=StandDownInputSerializer, responses=DispatchOrderSerializer)
    def post(self, request, pk: int):
        data = _valid(StandDownInputSerializer, request.data)
        return self._answer(request, pk, lambda: services.order_stand_down(order_id=pk, actor=request.user,
                                                                           reason=data["reason"]))


class OrderRemindView(_OrderAnswerView):
    allowed_roles = COMMAND_ROLES

    @extend_schema(summary="Remind a member of an order they have not accepted yet (command room, dispatcher)",
                   description="The order is sent again to the member's app. 403 for other roles; 409 when the "
                               "order no longer waits for confirmation; 429 when the member was reminded of it "
                               "less than REMIND_MIN_INTERVAL_SECONDS ago.",
                   request=None, responses={200: DispatchOrderSerializer,
                                            429: error_response("Reminded less than REMIND_MIN_INTERVAL_SECONDS ago "
                                                                "(`too_soon`).")})
    def post(self, request, pk: int):
        return self._answer(request, pk, lambda: services.order_remind(order_id=pk, actor=request.user))


class OrderReplaceView(_OrderAnswerView):
    @extend_schema(summary="Send a member in place of a declined or overdue order (the proposed replacement)",
                   description="Answers the new order. 403 for roles that do not dispatch; 409 when the order "
                               "needs no replacement or was replaced already; 400 for a member who declined "
                               "this case or is off duty without `off_duty_override`.",
                   request=ReplaceInputSerializer, responses=DispatchOrderSerializer)
    def post(self, request, pk: int):
        data = _valid(ReplaceInputSerializer, request.data)
        return self._answer(request, pk, lambda: services.order_replace(
            order_id=pk, member_id=data["member"], actor=request.user, method=data["method"],
            off_duty_override=data["off_duty_override"]))


class AlarmListView(SubdistrictScopedMixin, generics.GenericAPIView):
    """Alarms of the SLA clock, newest first: every alarm for the staff roles, a member's own (those
    they were told of) for anybody else."""

    permission_classes = [HasRole]

    @extend_schema(summary="Alarms of the SLA clock",
                   parameters=[SUBDISTRICT_PARAMETER,
                               OpenApiParameter("state", OpenApiTypes.STR, enum=Alarm.State.values),
                               OpenApiParameter("incident", OpenApiTypes.INT)],
                   responses=AlarmSerializer(many=True))
    def get(self, request):
        state = request.query_params.get("state") or None
        if state is not None and state not in Alarm.State.values:
            raise ValidationError({"state": [_("Unknown alarm state.")]})
        incident = request.query_params.get("incident") or None
        incident_id = None if incident is None else ascii_int(incident, minimum=1, maximum=2**63 - 1)
        if incident is not None and incident_id is None:
            raise ValidationError({"incident": [_("A case is given by its id (a number).")]})
        alarms = selectors.alarm_list(user=request.user, subdistrict=self.get_subdistrict(), state=state,
                                      incident_id=incident_id)
        return Response(_alarms_data(alarms))


class AlarmAcknowledgeView(IdempotentMixin, generics.GenericAPIView):
    permission_classes = [HasRole]
    allowed_roles = COMMAND_ROLES

    @extend_schema(summary="Acknowledge an alarm with a note", description="409 when acknowledged already.",
                   request=AcknowledgeInputSerializer, responses=AlarmSerializer)
    def post(self, request, pk: int):
        data = _valid(AcknowledgeInputSerializer, request.data)
        services.alarm_acknowledge(alarm_id=pk, actor=request.user, note=data["note"])
        return Response(_alarm_data(pk))


class AlarmSnoozeView(IdempotentMixin, generics.GenericAPIView):
    permission_classes = [HasRole]
    allowed_roles = COMMAND_ROLES

    @extend_schema(summary="Snooze an alarm for some minutes (the clock opens it again afterwards)",
                   description="409 when acknowledged already.", request=SnoozeInputSerializer,
                   responses=AlarmSerializer)
    def post(self, request, pk: int):
        data = _valid(SnoozeInputSerializer, request.data)
        services.alarm_snooze(alarm_id=pk, actor=request.user, minutes=data["minutes"], note=data["note"])
        return Response(_alarm_data(pk))


# --- the case's moves that involve orders (the transitions endpoint keeps its URL under incidents/) --
#
# These views live here because dispatching has one home: `dispatch.services.incident_transition`
# writes orders, stands them down when the case leaves on-site handling, and delegates every other
# move to the incident's lifecycle primitives. `incidents/urls.py` routes to them.

class IncidentTransitionView(IdempotentMixin, incidents_api.RoleCheckedView):
    # JSON, or multipart/form-data when an on-site report carries photos (repeated field `photos`).
    parser_classes = [CheckedJSONParser, CheckedMultiPartParser, CheckedFormParser]

    def initial(self, request, *args, **kwargs):
        # A body far larger than the photos allowed is refused before it is parsed (or fingerprinted).
        limit = settings.PHOTO_MAX_COUNT * settings.PHOTO_MAX_BYTES + 1024 * 1024
        if (ascii_int(request.META.get("CONTENT_LENGTH") or "0") or 0) > limit:
            raise DomainError(_("The request is too large: at most %(count)s photos of %(mb)s MB each.")
                              % {"count": settings.PHOTO_MAX_COUNT,
                                 "mb": f"{settings.PHOTO_MAX_BYTES / (1024 * 1024):g}"}, code="too_large")
        super().initial(request, *args, **kwargs)

    @extend_schema(
        summary="Move a case along its flow",
        description="200 with the case; 409 when the flow does not allow the action now (nothing changes); "
                    "403 when the user may not make it; 400 when the request lacks what the action needs. "
                    "`report_on_site` may carry up to PHOTO_MAX_COUNT (3) photos as multipart/form-data "
                    "(repeated field `photos`; JPEG, PNG or WebP, each at most PHOTO_MAX_BYTES): a photo "
                    "refused refuses the whole report (400 naming the photo; nothing is saved).",
        request={"application/json": TransitionInputSerializer, "multipart/form-data": TransitionInputSerializer},
        responses=IncidentDetailSerializer,
    )
    def post(self, request, pk: int):
        incidents_api._visible_or_404(request, pk)
        data = incidents_api._valid(TransitionInputSerializer, request.data)
        services.incident_transition(incident_id=pk, action=data["action"], actor=request.user, text=data["text"],
                                     unit=data["unit"], members=data["members"], method=data["method"],
                                     position=data["position"], off_duty_override=data["off_duty_override"],
                                     reason=data.get("reason", ""), photos=data["photos"])
        return incidents_api._detail_response(request, pk, changed=True)


class IncidentRecommendationView(incidents_api.RoleCheckedView):
    allowed_roles = STAFF_ROLES

    @extend_schema(
        summary="The responders recommended for a case, ranked by travel time",
        description="The responsible grid and community, backups on a border, and the candidates with the reason "
                    "each is there, on-duty and load, straight-line distance, travel time on the road network, "
                    "deadline and whether it can be met; `proposed` ones are pre-selected; the first ones carry "
                    "their `route`. `at` asks what-if for another instant, `level` for another escalation ring. "
                    "400 when the case has no location yet.",
        parameters=[OpenApiParameter("at", OpenApiTypes.DATETIME, description="Default: now."),
                    OpenApiParameter("level", OpenApiTypes.INT, description="Default: the case's escalation level.")],
        responses=RecommendationSerializer,
    )
    def get(self, request, pk: int):
        query = incidents_api._valid(RecommendationQuerySerializer, request.query_params)
        incidents_api._visible_or_404(request, pk)
        incident = incident_facts(incident_id=pk)
        if incident is None:
            raise Http404
        return Response(RecommendationSerializer(recommend(incident, at=query["at"], level=query["level"])).data)


class IncidentMergeView(IdempotentMixin, incidents_api.RoleCheckedView):
    allowed_roles = incidents_api.MERGE_ROLES

    @extend_schema(summary="Merge this case into another (answers the case kept)",
                   request=MergeInputSerializer, responses=IncidentDetailSerializer)
    def post(self, request, pk: int):
        incidents_api._visible_or_404(request, pk)
        data = incidents_api._valid(MergeInputSerializer, request.data)
        incidents_api._visible_or_404(request, data["into"])
        into = services.incident_merge(incident_id=pk, into_id=data["into"], actor=request.user)
        return incidents_api._detail_response(request, into.pk, changed=True)



# --- responders' positions (issue 5): phones and their gateway post fixes in batches ---------------
#
# Validated by hand rather than by a DRF serializer per fix: a batch of thousands must cost a few
# milliseconds, not a hundred. The serializers below describe the body for the OpenAPI schema only;
# errors keep DRF's shape ({"positions": {"<index>": {"<field>": ["message"]}}}).

class PositionInSerializer(serializers.Serializer):
    member = serializers.IntegerField(help_text="The member's id.")
    at = serializers.DateTimeField(help_text="When the fix was taken: ISO 8601 with its UTC offset, not older "
                                             "than POSITIONS_MAX_AGE_HOURS nor ahead of the server's clock by more "
                                             "than POSITIONS_MAX_AHEAD_SECONDS.")
    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    accuracy_m = serializers.FloatField(min_value=0, required=False, allow_null=True,
                                        help_text="Horizontal accuracy in metres.")
    datum = serializers.ChoiceField(choices=["WGS84", "GCJ02"],
                                    help_text="GCJ02 (WeChat, AMap, Tencent maps) is converted to WGS 84 on arrival.")


class PositionBatchSerializer(serializers.Serializer):
    positions = PositionInSerializer(many=True, help_text="At most POSITIONS_MAX_BATCH fixes (default 5000).")


class PositionsStoredSerializer(serializers.Serializer):
    stored = serializers.IntegerField()


class PositionBatchView(IdempotentMixin, SubdistrictScopedMixin, generics.GenericAPIView):
    """Responders' positions in batches. A responder posts their own member's only (a batch naming
    anybody else is refused whole with 404, as if that member did not exist); a phone gateway
    (integration role, token auth) and the command room post for any member of the sub-district
    (`?subdistrict=<code>`, default the first). Any bad fix refuses the whole batch: nothing is stored."""

    permission_classes = [HasRole]
    allowed_roles = positions.POSITION_ROLES
    serializer_class = PositionBatchSerializer
    parser_classes = [CheckedJSONParser]

    @extend_schema(summary="Post responders' positions in a batch",
                   description="GCJ-02 fixes are converted to WGS 84 on arrival. Each member's last known "
                               "position moves forward only (an older fix is kept in the track only). The "
                               "track holds one fix per member and time: `stored` counts the fixes new to it "
                               "(the same batch again answers 0 and adds nothing). The "
                               "wall maps receive the positions coalesced, at most once per "
                               "WALL_POSITIONS_INTERVAL_S (1 s) per sub-district and server process.",
                   parameters=[SUBDISTRICT_PARAMETER], request=PositionBatchSerializer,
                   responses={201: PositionsStoredSerializer,
                              400: OpenApiResponse(description="A bad fix or batch, nothing stored: "
                                                               "{\"positions\": {\"<index>\": {\"<field>\": [message]}}}"),
                              403: OpenApiResponse(description="Not a responder, phone gateway or command room."),
                              404: OpenApiResponse(description="A responder's batch names another member.")})
    def post(self, request):
        items = request.data.get("positions") if isinstance(request.data, dict) else None
        if not isinstance(items, list):
            raise ValidationError({"positions": [_("Send an object with a list “positions”.")]})
        if len(items) > settings.POSITIONS_MAX_BATCH:
            raise ValidationError({"positions": [_("At most %(max)d positions in one batch.")
                                                 % {"max": settings.POSITIONS_MAX_BATCH}]})
        now = timezone.now()
        rows, errors = positions.parse_fixes(items, now=now)
        user = request.user
        if not has_role(user, *positions.POSITION_ANY_MEMBER_ROLES):
            own = getattr(user, "member", None)
            asked = {item.get("member") for item in items
                     if isinstance(item, dict) and type(item.get("member")) is int}
            if own is None or asked - {own.pk}:
                raise NotFound(_("No such member."))
        elif rows:
            asked = {row[0] for row in rows}
            with connection.cursor() as cur:  # = ANY(array): one parameter, not an IN list of hundreds
                cur.execute("SELECT id FROM dispatch_member WHERE subdistrict_id = %s AND id = ANY(%s::bigint[])",
                            [self.get_subdistrict().pk, list(asked)])
                unknown = asked - {pk for (pk,) in cur.fetchall()}
            for index, item in enumerate(items) if unknown else ():
                if isinstance(item, dict) and item.get("member") in unknown:
                    errors.setdefault(str(index), {})["member"] = [_("No such member in this sub-district.")]
        if errors:
            raise ValidationError({"positions": dict(sorted(errors.items(), key=lambda kv: int(kv[0])))})
        stored = positions.positions_ingest(fixes=positions.fixes_of(rows), received_at=now)
        return Response({"stored": stored}, status=201)
