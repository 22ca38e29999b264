from typing import cast

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from audit.admin import HistoryMixin, ReadOnlyAdminMixin, service_action
from config.roles import COMMAND_ROLES, has_role
from dispatch import services
from dispatch.models import (
    Alarm,
    DispatchOrder,
    DutyShift,
    Member,
    MemberMessage,
    MemberPosition,
    MessageAttempt,
    PositionFix,
    ResponsibilityRule,
    Unit,
)
from geo.admin import TenantAdminMixin
from incidents import admin as incidents_admin
from incidents.flows import TRANSITIONS
from incidents.models import Incident


@admin.register(Unit)
class UnitAdmin(TenantAdminMixin, HistoryMixin, LeafletGeoAdmin):
    list_display = ["code", "name", "kind", "community", "phone"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]


class DutyShiftInline(admin.TabularInline):
    model = DutyShift
    fields = ["starts_at", "ends_at"]
    extra = 0
    ordering = ["-starts_at"]


@admin.register(Member)
class MemberAdmin(TenantAdminMixin, HistoryMixin, LeafletGeoAdmin):
    history_across = ("dispatch.DutyShiftEvent", "dispatch.MemberGridEvent")  # with its shifts and grids
    list_display = ["code", "name", "force", "unit", "phone", "travel_mode", "active"]
    list_filter = ["force", "travel_mode", "active"]
    search_fields = ["code", "name", "phone"]
    filter_horizontal = ["grids"]
    raw_id_fields = ["user", "unit"]
    list_select_related = ["unit"]
    inlines = [DutyShiftInline]


@admin.register(DutyShift)
class DutyShiftAdmin(TenantAdminMixin, HistoryMixin, admin.ModelAdmin):
    tenant_field = "member__subdistrict_id"
    list_display = ["member", "starts_at", "ends_at"]
    list_filter = ["member__force"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["member"]
    list_select_related = ["member"]


@admin.register(MemberPosition)
class MemberPositionAdmin(TenantAdminMixin, LeafletGeoAdmin):
    tenant_field = "member__subdistrict_id"
    list_display = ["member", "recorded_at", "accuracy_m"]
    raw_id_fields = ["member"]
    list_select_related = ["member"]


@admin.register(PositionFix)
class PositionFixAdmin(TenantAdminMixin, LeafletGeoAdmin):
    """The track is append-only: shown, never edited here (the positions API writes it)."""

    tenant_field = "member__subdistrict_id"
    list_display = ["member", "recorded_at", "accuracy_m", "received_at"]
    raw_id_fields = ["member"]
    list_select_related = ["member"]
    date_hierarchy = "recorded_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# --- lifecycle records: read only, with the command room's moves as actions ----------------------
#
# The admin never writes an order, an alarm or a case itself: each action calls the service the
# console calls (which checks the role and the state, writes the timeline and publishes), and a
# refusal is shown as an error message. Only the command room's roles see these actions.

class CommandActionsMixin:
    def has_command_permission(self, request) -> bool:
        return has_role(request.user, *COMMAND_ROLES)


@admin.register(DispatchOrder)
class DispatchOrderAdmin(TenantAdminMixin, CommandActionsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    tenant_field = "incident__subdistrict_id"
    list_display = ["incident", "member", "method", "state", "dispatched_at", "arrive_by", "arrived_at",
                    "arrival_flagged"]
    list_filter = ["state", "method", "arrival_flagged", "level"]
    date_hierarchy = "dispatched_at"
    raw_id_fields = ["incident", "member", "dispatched_by", "rule"]
    list_select_related = ["incident", "member"]
    actions = [
        service_action(name="stand_down", description=_("Stand the responder down"), permission="command",
                       ask=_("Reason"),
                       run=lambda *, obj, actor, text: services.order_stand_down(order_id=obj.pk, actor=actor,
                                                                                 reason=text)),
        service_action(name="remind", description=_("Remind the responder to confirm"), permission="command",
                       run=lambda *, obj, actor: services.order_remind(order_id=obj.pk, actor=actor)),
    ]


@admin.register(Alarm)
class AlarmAdmin(TenantAdminMixin, CommandActionsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["incident", "kind", "state", "due_at", "raised_at", "acknowledged_at"]
    list_filter = ["kind", "state"]
    date_hierarchy = "raised_at"
    raw_id_fields = ["incident", "order", "acknowledged_by"]
    list_select_related = ["incident"]
    actions = [
        service_action(name="acknowledge", description=_("Acknowledge the alarm"), permission="command",
                       ask=_("What was done"),
                       run=lambda *, obj, actor, text: services.alarm_acknowledge(alarm_id=obj.pk, actor=actor,
                                                                                  note=text)),
    ]


def _move(action: str, *, ask=None, required: bool = True):
    """An admin action making one move of the case's flow (incidents/flows.py) through the one entry
    point of the moves; the flow's own label names it."""
    return service_action(
        name=f"move_{action}", description=TRANSITIONS[action].label, permission="command", ask=ask,
        required=required,
        run=lambda *, obj, actor, text="": services.incident_transition(incident_id=obj.pk, action=action, actor=actor,
                                                                     text=text),
    )


admin.site.unregister(Incident)


@admin.register(Incident)
class IncidentAdmin(CommandActionsMixin, incidents_admin.IncidentAdmin):
    """The incidents' read-only admin (incidents/admin.py) with the supervisor's moves of a case:
    close as invalid, close, reopen, add a note, raise the level. Dispatching and the offices' moves
    stay on the console, where the recommendation and the map are."""

    actions = [
        _move("cancel", ask=_("Reason")),
        _move("close"),
        _move("reopen", ask=_("Reason")),
        _move("note", ask=_("Note")),
        service_action(name="raise_level", description=_("Raise the escalation level"), permission="command",
                       ask=_("Reason"), required=False,
                       run=lambda *, obj, actor, text: services.incident_raise_level(incident_id=obj.pk, actor=actor,
                                                                                     note=text)),
    ]


class MessageAttemptInline(admin.TabularInline):
    model = MessageAttempt
    fields = ["at", "http_status", "ok", "error"]
    readonly_fields = cast(list[str], fields)  # plain names (the stubs type `fields` with groups)
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MemberMessage)
class MemberMessageAdmin(TenantAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Messages to members and their outbound delivery, read-only: written by the services and the
    SLA clock, sent by `manage.py run_notifier`. Without a gateway (NOTIFY_GATEWAY_URL) the sent
    ones show `outbox`: the operator passes them on from here or from the log."""

    list_display = ["created_at", "member", "kind", "title", "state", "attempts", "read_at", "sent_at", "gateway_id"]
    list_filter = ["state", "kind"]
    search_fields = ["title", "member__name", "member__code", "gateway_id"]
    date_hierarchy = "created_at"
    list_select_related = ["member"]
    raw_id_fields = ["member", "incident", "order", "alarm", "version"]
    inlines = [MessageAttemptInline]


@admin.register(MessageAttempt)
class MessageAttemptAdmin(TenantAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every call of the gateway (or outbox line), read-only: filter by failures to see a gateway down."""

    tenant_field = "message__subdistrict_id"
    list_display = ["at", "message", "http_status", "ok", "error"]
    list_filter = ["ok", "http_status"]
    date_hierarchy = "at"
    raw_id_fields = ["message"]
    list_select_related = ["message"]


@admin.register(ResponsibilityRule)
class ResponsibilityRuleAdmin(HistoryMixin, admin.ModelAdmin):
    """The responsibility rules (seeded by dispatch.rules_seed; edits here are kept by seed_demo).
    A change is seen by the next recommendation of every server process."""

    list_display = ["code", "name", "level", "priority", "target", "force", "role", "unit_kind", "count",
                    "deadline_minutes", "until_time", "active"]
    list_filter = ["level", "target", "active", "major_only"]
    list_editable = ["active"]
    search_fields = ["code", "name", "note"]
    ordering = ["level", "priority", "code"]
    fieldsets = [
        (None, {"fields": ["code", "name", "active", "level", "priority", "note"]}),
        (_("When it applies"), {"fields": ["scopes", "category_codes", "police_type", "major_only", "road_classes",
                             "road_within_m", "until_time"]}),
        (_("Who is proposed"), {"fields": ["target", "force", "role", "unit_kind", "count", "deadline_minutes"]}),
    ]
