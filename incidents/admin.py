from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from incidents.models import Category, Channel, Incident, IncidentEvent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "scope", "is_police", "statistic_group", "major_by_default"]
    list_filter = ["scope", "is_police", "statistic_group"]


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "phone", "active"]
    list_filter = ["kind", "active"]


class IncidentEventInline(admin.TabularInline):
    """The timeline is append-only: shown, never edited here."""

    model = IncidentEvent
    fields = ["at", "kind", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(LeafletGeoAdmin):
    list_display = ["number", "category", "channel", "status", "major", "grid", "reported_at"]
    list_filter = ["status", "flow", "major", "category", "channel"]
    search_fields = ["number", "external_id", "description", "address_text"]
    date_hierarchy = "reported_at"
    raw_id_fields = ["grid", "community", "place", "created_by"]
    list_select_related = ["category", "channel", "grid"]
    inlines = [IncidentEventInline]


@admin.register(IncidentEvent)
class IncidentEventAdmin(admin.ModelAdmin):
    list_display = ["id", "incident", "kind", "from_status", "to_status", "at"]
    list_filter = ["kind"]
    raw_id_fields = ["incident", "actor", "actor_member"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
