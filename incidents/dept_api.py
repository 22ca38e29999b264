"""The department queue API (/api/v1/dept/): a unit's parts of cases, for the page /dept/ (issue 10).

For the staff of a unit — role `department`, or a responder — linked to an active member: the
unit is `member.unit`. Anybody else gets 403 with a message saying what the queue is for. Another
unit's part is a 404, as if it did not exist. Reads only: the actions go to the case's transitions
endpoint (`POST /api/v1/incidents/{id}/transitions/`), which stays the authority.

`actions` of a part are the moves the user may make on it now: the transitions of
`incidents.api_support.transitions_permitted` — the rule the service checks — among the ones that
apply to the part's state (PART_ACTIONS), so that a button the page shows is about this part.
"""

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.roles import UserRole, has_role
from incidents.api_support import transitions_permitted
from incidents.models import Handover
from incidents.selectors import dept_part, dept_part_finished_at, dept_queue, dept_unit_of

# Who may hold a unit's queue (the roles of `unit_staff` moves in incidents/flows.py).
DEPT_ROLES = (UserRole.DEPARTMENT, UserRole.RESPONDER)

# The unit's moves on one part, by the part's state, in the order the page shows them.
PART_ACTIONS: dict[str, tuple[str, ...]] = {
    Handover.State.PENDING: ("accept_handover", "return_handover"),
    Handover.State.ACCEPTED: ("progress", "complete"),
}
COORDINATE_DECIMALS = 6

NOT_UNIT_STAFF = _("The department queue is for the staff of a unit: your login is not linked to a member "
                   "of a unit.")


def _user_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


class DeptProgressSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    note = serializers.CharField(help_text="Typed by staff: shown as text.")
    by = serializers.SerializerMethodField()

    def get_by(self, event) -> str:
        return event.actor_member.name if event.actor_member else _user_name(event.actor)


class DeptPartSerializer(serializers.Serializer):
    """One part of a case (a hand-over to the unit). Context: `now` (the overdue flags)."""

    id = serializers.IntegerField(help_text="The hand-over.")
    incident = serializers.IntegerField(source="incident_id")
    number = serializers.CharField(source="incident.number")
    category = serializers.SerializerMethodField()
    address_text = serializers.CharField(source="incident.address_text")
    status = serializers.CharField(source="incident.status")
    status_display = serializers.CharField(source="incident.get_status_display")
    major = serializers.BooleanField(source="incident.major")
    kind = serializers.CharField()
    kind_display = serializers.CharField(source="get_kind_display")
    lead = serializers.BooleanField()
    state = serializers.CharField()
    state_display = serializers.CharField(source="get_state_display")
    reason = serializers.CharField(help_text="Why the case was handed over.")
    handed_over_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    accept_by = serializers.DateTimeField(allow_null=True)
    accept_overdue = serializers.SerializerMethodField(help_text="Waiting and past `accept_by`.")
    deadline = serializers.DateTimeField(allow_null=True, help_text="Report the result by.")
    deadline_overdue = serializers.SerializerMethodField(help_text="Accepted and past `deadline`.")
    progress = serializers.SerializerMethodField(help_text="The unit's progress notes, oldest first.")
    result = serializers.CharField()
    return_reason = serializers.CharField()
    on_behalf_reason = serializers.CharField()
    finished_at = serializers.SerializerMethodField(help_text="Completed or returned at; null otherwise.")

    def get_category(self, part) -> str:
        return part.incident.category.display_name()

    def get_handed_over_by(self, part) -> str:
        return _user_name(part.created_by)

    def get_accept_overdue(self, part) -> bool:
        return bool(part.state == Handover.State.PENDING and part.accept_by and part.accept_by < self.context["now"])

    def get_deadline_overdue(self, part) -> bool:
        return bool(part.state == Handover.State.ACCEPTED and part.deadline and part.deadline < self.context["now"])

    @extend_schema_field(DeptProgressSerializer(many=True))
    def get_progress(self, part):
        return DeptProgressSerializer(getattr(part, "progress_notes", []), many=True).data

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_finished_at(self, part):
        at = dept_part_finished_at(part) if part.state in (Handover.State.COMPLETED, Handover.State.RETURNED) else None
        return None if at is None else serializers.DateTimeField().to_representation(at)


class DeptUnitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DeptQueueSerializer(serializers.Serializer):
    now = serializers.DateTimeField(help_text="The server's clock (the page corrects its countdowns by it).")
    unit = DeptUnitSerializer()
    waiting = DeptPartSerializer(many=True, help_text="Waiting for the unit's decision, by `accept_by`.")
    working = DeptPartSerializer(many=True, help_text="Accepted, not completed, by `deadline`.")
    done = DeptPartSerializer(many=True, help_text="Completed or returned in the last 7 days, latest first.")


class DeptCaseSerializer(serializers.Serializer):
    """The case of a part. `description` and `address_text` are typed by the public: the client
    shows them as text, never as markup."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    category = serializers.SerializerMethodField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    description = serializers.CharField()
    address_text = serializers.CharField()
    location = serializers.SerializerMethodField(help_text="[lon, lat] (WGS 84), null without a point.")

    def get_category(self, incident) -> str:
        return incident.category.display_name()

    @extend_schema_field({"type": "array", "items": {"type": "number"}, "nullable": True})
    def get_location(self, incident):
        point = incident.location
        return None if point is None else [round(point.x, COORDINATE_DECIMALS), round(point.y, COORDINATE_DECIMALS)]


class DeptOtherPartSerializer(serializers.Serializer):
    unit = serializers.CharField(source="unit.name")
    state = serializers.CharField()
    state_display = serializers.CharField(source="get_state_display")


class DeptActionSerializer(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like a Field attribute
    requires = serializers.ListField(child=serializers.CharField())


class DeptPartDetailSerializer(serializers.Serializer):
    now = serializers.DateTimeField()
    part = DeptPartSerializer()
    case = DeptCaseSerializer()
    others = DeptOtherPartSerializer(many=True, help_text="The other offices' parts of the case.")
    actions = DeptActionSerializer(many=True, help_text="What the user may do on this part now.")


def part_actions(*, user, part: Handover) -> list[dict]:
    """The moves on `part` the user may make now (the service may still refuse a pressed button)."""
    wanted = PART_ACTIONS.get(part.state, ())
    if not wanted:
        return []
    permitted = {t.action: t for t in transitions_permitted(user=user, incident=part.incident)}
    return [{"action": a, "label": str(permitted[a].label), "requires": list(permitted[a].requires)}
            for a in wanted if a in permitted]


class _DeptView(APIView):
    """Admits a logged-in user of a department role or a responder, linked to an active member of
    a unit (403 otherwise, with a message saying what the queue is for)."""

    permission_classes = [IsAuthenticated]

    def unit(self):
        unit = dept_unit_of(self.request.user) if has_role(self.request.user, *DEPT_ROLES) else None
        if unit is None:
            raise PermissionDenied(NOT_UNIT_STAFF)
        return unit


class DeptQueueView(_DeptView):
    @extend_schema(summary="The unit's work queue: parts waiting, being worked on, done in the last 7 days",
                   description="403 for a user not linked to a member of a unit.", responses=DeptQueueSerializer)
    def get(self, request):
        unit, now = self.unit(), timezone.now()
        data = {"now": now, "unit": unit, **dept_queue(unit=unit, now=now)}
        return Response(DeptQueueSerializer(data, context={"now": now}).data)


class DeptPartView(_DeptView):
    @extend_schema(summary="One part of the unit with its case, the other offices' parts and the actions now "
                           "(another unit's part: 404)", responses=DeptPartDetailSerializer)
    def get(self, request, pk: int):
        unit, now = self.unit(), timezone.now()
        part = dept_part(unit=unit, handover_id=pk)
        if part is None:
            raise Http404
        others = [h for h in part.incident.handovers.all() if h.pk != part.pk]
        data = {"now": now, "part": part, "case": part.incident, "others": others,
                "actions": part_actions(user=request.user, part=part)}
        return Response(DeptPartDetailSerializer(data, context={"now": now}).data)
