"""The responders' app API for leaders (/api/v1/m/team/, /api/v1/m/alarms/{id}/acknowledge/): "My team".

The same door as the member's own work (dispatch/member_api.py): a logged-in user linked to an
active member, 403 for anybody else. What a member sees depends on what they lead
(`dispatch.selectors.leader_roles`), and nothing else:
- a grid leader: the open cases of their grids (as the incident API lets them read them), who is
  sent to each, their order's state and phone;
- a unit leader (or shift leader): the current orders of their unit's members — phone, case,
  state, deadline, overdue or not — and the overdue alarms they were told of as a leader, with
  the acknowledgement (`dispatch.services.alarm_acknowledge_by_leader`: 404 for an alarm they were
  not told of; a second tap changes nothing).
`roles` lists the sections the phone shows; the keys of the others are left out (a plain responder
gets `{"now": …, "roles": []}`). Phone numbers are the members' and the units' duty phones, for a
`tel:` link. Addresses are typed by the public: the client shows them as text.
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, permissions, serializers
from rest_framework.response import Response

from dispatch import selectors, services
from dispatch.member_api import NOT_A_MEMBER, CaseSummarySerializer
from dispatch.models import Alarm, DispatchOrder
from incidents.idempotency import IdempotentMixin


class IsActiveMember(permissions.BasePermission):
    """A logged-in user linked to an active member (`request.team_member`); 403 otherwise."""

    message = NOT_A_MEMBER

    def has_permission(self, request, view) -> bool:
        member = selectors.member_of_user(user=request.user)
        request.team_member = member
        return member is not None


def _overdue(order: DispatchOrder, now) -> bool:
    return order.state in DispatchOrder.LIVE_STATES and order.arrive_by is not None and order.arrive_by < now


class TeamPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    unit = serializers.CharField(source="unit.name")
    phone = serializers.CharField(help_text="For a tel: link.")


class _OrderFieldsMixin(serializers.Serializer):
    """An order's state and deadline. Context: `now`."""

    id = serializers.IntegerField()
    state = serializers.CharField()
    state_display = serializers.CharField(source="get_state_display")
    dispatched_at = serializers.DateTimeField()
    arrive_by = serializers.DateTimeField(allow_null=True)
    arrived_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.SerializerMethodField(help_text="Still on the way past its deadline.")

    def get_overdue(self, order) -> bool:
        return _overdue(order, self.context["now"])


class GridOrderSerializer(_OrderFieldsMixin):
    member = TeamPersonSerializer()


class TeamCaseSerializer(CaseSummarySerializer):
    """A case as the team sections show it (the member's own work lists it alike)."""


class GridIncidentSerializer(TeamCaseSerializer):
    """An open case of the grid leader's grids with the members sent to it (current orders)."""

    grid = serializers.CharField(source="grid.name")
    reported_at = serializers.DateTimeField(help_text="The case's age is `now` − this.")
    orders = GridOrderSerializer(source="team_orders", many=True)


class UnitOrderSerializer(_OrderFieldsMixin):
    """A current order of a member of the unit leader's unit."""

    member = TeamPersonSerializer()
    incident = TeamCaseSerializer()


class TeamAlarmSerializer(serializers.Serializer):
    """An overdue alarm the leader was told of. `member`: the late member (arrival alarms), `unit`:
    the office that is late (hand-over alarms); each with a phone to call. Context: `member`."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_display = serializers.CharField(source="get_kind_display")
    state = serializers.CharField()
    state_display = serializers.CharField(source="get_state_display")
    incident = serializers.SerializerMethodField()
    member = serializers.SerializerMethodField()
    unit = serializers.SerializerMethodField()
    due_at = serializers.DateTimeField(allow_null=True)
    raised_at = serializers.DateTimeField()
    acknowledged = serializers.SerializerMethodField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.SerializerMethodField(help_text="The member's name, else the login's.")
    can_acknowledge = serializers.SerializerMethodField()

    @extend_schema_field({"type": "object", "properties": {"id": {"type": "integer"}, "number": {"type": "string"},
                                                           "address_text": {"type": "string"}}})
    def get_incident(self, alarm):
        return {"id": alarm.incident_id, "number": alarm.incident.number, "address_text": alarm.incident.address_text}

    @extend_schema_field(TeamPersonSerializer(allow_null=True))
    def get_member(self, alarm):
        return TeamPersonSerializer(alarm.order.member).data if alarm.order_id else None

    @extend_schema_field({"type": "object", "nullable": True,
                          "properties": {"name": {"type": "string"}, "phone": {"type": "string"}}})
    def get_unit(self, alarm):
        if alarm.handover_id is None:
            return None
        return {"name": alarm.handover.unit.name, "phone": alarm.handover.unit.phone}

    def get_acknowledged(self, alarm) -> bool:
        return alarm.state == Alarm.State.ACKNOWLEDGED

    def get_acknowledged_by(self, alarm) -> str | None:
        user = alarm.acknowledged_by
        if user is None:
            return None
        member = getattr(user, "member", None)
        return member.name if member is not None else user.get_username()

    def get_can_acknowledge(self, alarm) -> bool:
        return alarm.state != Alarm.State.ACKNOWLEDGED


class TeamUnitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    phone = serializers.CharField(help_text="The unit's duty phone (may be empty).")


class TeamSerializer(serializers.Serializer):
    now = serializers.DateTimeField(help_text="The server's clock.")
    roles = serializers.ListField(child=serializers.ChoiceField([selectors.GRID_LEADER, selectors.UNIT_LEADER]),
                                  help_text="The sections shown; the others' keys are left out.")
    incidents = GridIncidentSerializer(many=True, required=False, help_text="grid_leader: the grids' open cases.")
    unit = TeamUnitSerializer(required=False, help_text="unit_leader: the unit.")
    orders = UnitOrderSerializer(many=True, required=False, help_text="unit_leader: the unit's current orders.")
    alarms = TeamAlarmSerializer(many=True, required=False, help_text="unit_leader: the alarms they were told of.")


class AlarmAcknowledgeInSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, default="")


class TeamView(generics.GenericAPIView):
    permission_classes = [permissions.IsAuthenticated, IsActiveMember]

    @extend_schema(summary="My team: a leader's grids' open cases, unit's current orders and alarms",
                   description="403 for a user not linked to an active member; a plain responder gets `roles: []`.",
                   responses=TeamSerializer)
    def get(self, request):
        member, now = request.team_member, timezone.now()
        roles = selectors.leader_roles(user=request.user, member=member)
        data = {"now": now, "roles": roles}
        if selectors.GRID_LEADER in roles:
            data["incidents"] = selectors.team_grid_incidents(user=request.user, member=member)
        if selectors.UNIT_LEADER in roles:
            data |= {"unit": member.unit, "orders": selectors.team_unit_orders(member=member),
                     "alarms": selectors.team_alarms(member=member, at=now)}
        return Response(TeamSerializer(data, context={"now": now, "member": member}).data)


class TeamAlarmAcknowledgeView(IdempotentMixin, generics.GenericAPIView):
    permission_classes = [permissions.IsAuthenticated, IsActiveMember]

    @extend_schema(summary="A leader acknowledges an overdue alarm they were told of",
                   description="404 for an alarm the member was not told of as a leader. An alarm acknowledged "
                               "already (by the command room, or before) is answered as it is.",
                   request=AlarmAcknowledgeInSerializer, responses=TeamAlarmSerializer)
    def post(self, request, pk: int):
        serializer = AlarmAcknowledgeInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.alarm_acknowledge_by_leader(alarm_id=pk, actor=request.user, note=serializer.validated_data["note"])
        alarm = (Alarm.objects.select_related("incident", "order__member__unit", "handover__unit",
                                              "acknowledged_by__member").get(pk=pk))
        return Response(TeamAlarmSerializer(alarm, context={"now": timezone.now(), "member": request.team_member}).data)
