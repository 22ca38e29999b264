from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from dispatch.models import DutyShift, Member, MemberPosition, Unit


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
