from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

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


@admin.register(Unit)
class UnitAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "kind", "community", "phone"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]


class DutyShiftInline(admin.TabularInline):
    model = DutyShift
    fields = ["starts_at", "ends_at"]
    extra = 0
    ordering = ["-starts_at"]


@admin.register(Member)
class MemberAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "force", "unit", "phone", "travel_mode", "active"]
    list_filter = ["force", "travel_mode", "active"]
    search_fields = ["code", "name", "phone"]
    filter_horizontal = ["grids"]
    raw_id_fields = ["user", "unit"]
    list_select_related = ["unit"]
    inlines = [DutyShiftInline]


@admin.register(DutyShift)
class DutyShiftAdmin(admin.ModelAdmin):
    list_display = ["member", "starts_at", "ends_at"]
    list_filter = ["member__force"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["member"]
    list_select_related = ["member"]


@admin.register(MemberPosition)
class MemberPositionAdmin(LeafletGeoAdmin):
    list_display = ["member", "recorded_at", "accuracy_m"]
    raw_id_fields = ["member"]
    list_select_related = ["member"]


@admin.register(PositionFix)
class PositionFixAdmin(LeafletGeoAdmin):
    """The track is append-only: shown, never edited here (the positions API writes it)."""

    list_display = ["member", "recorded_at", "accuracy_m", "received_at"]
    raw_id_fields = ["member"]
    list_select_related = ["member"]
    date_hierarchy = "recorded_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DispatchOrder)
class DispatchOrderAdmin(admin.ModelAdmin):
    list_display = ["incident", "member", "method", "state", "dispatched_at", "arrive_by", "arrived_at",
                    "arrival_flagged"]
    list_filter = ["state", "method", "arrival_flagged", "level"]
    date_hierarchy = "dispatched_at"
    raw_id_fields = ["incident", "member", "dispatched_by", "rule"]
    list_select_related = ["incident", "member"]


@admin.register(Alarm)
class AlarmAdmin(admin.ModelAdmin):
    list_display = ["incident", "kind", "state", "due_at", "raised_at", "acknowledged_at"]
    list_filter = ["kind", "state"]
    date_hierarchy = "raised_at"
    raw_id_fields = ["incident", "order", "acknowledged_by"]
    list_select_related = ["incident"]


class MessageAttemptInline(admin.TabularInline):
    model = MessageAttempt
    fields = ["at", "http_status", "ok", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MemberMessage)
class MemberMessageAdmin(admin.ModelAdmin):
    """Messages to members and their outbound delivery, read-only: written by the services and the
    SLA clock, sent by `manage.py run_notifier`. Without a gateway (NOTIFY_GATEWAY_URL) the sent
    ones show `outbox`: the operator passes them on from here or from the log."""

    list_display = ["created_at", "member", "kind", "title", "state", "attempts", "read_at", "sent_at", "gateway_id"]
    list_filter = ["state", "kind"]
    search_fields = ["title", "member__name", "member__code", "gateway_id"]
    date_hierarchy = "created_at"
    list_select_related = ["member"]
    raw_id_fields = ["member", "incident", "order", "alarm"]
    inlines = [MessageAttemptInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MessageAttempt)
class MessageAttemptAdmin(admin.ModelAdmin):
    """Every call of the gateway (or outbox line), read-only: filter by failures to see a gateway down."""

    list_display = ["at", "message", "http_status", "ok", "error"]
    list_filter = ["ok", "http_status"]
    date_hierarchy = "at"
    raw_id_fields = ["message"]
    list_select_related = ["message"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ResponsibilityRule)
class ResponsibilityRuleAdmin(admin.ModelAdmin):
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
