from typing import cast

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from audit.admin import HistoryMixin, ReadOnlyAdminMixin, ReadOnlyMapMixin
from geo.models import (
    Address,
    BoundaryVersion,
    Community,
    DraftEditor,
    DraftGrid,
    DraftSave,
    Grid,
    Place,
    Road,
    Subdistrict,
    Tenancy,
    Water,
)


@admin.register(Subdistrict)
class SubdistrictAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "district", "city"]
    search_fields = ["code", "name"]


@admin.register(Community)
class CommunityAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "kind", "subdistrict"]
    list_filter = ["kind", "subdistrict"]
    search_fields = ["code", "name"]


class GridInline(admin.TabularInline):
    model = Grid
    fields = ["code", "name", "community"]
    readonly_fields = cast(list[str], fields)  # plain names (the stubs type `fields` with groups)
    extra = 0
    can_delete = False
    show_change_link = True


class PlannerOnlyMixin(ReadOnlyAdminMixin):
    """Grid versions and their grids are drawn, checked and published on the planners' page
    (/planner/, through planner.services), never here: a published version is immutable (a database
    trigger), and a draft's grids need the page's validation. The admin shows them read only, with a
    link to the page."""

    @admin.display(description=_("where to edit"))
    def planner_link(self, obj=None):
        return format_html('<a href="{}">{}</a>', reverse("planner_page:planner"),
                           _("Grid versions are drafted, checked and published on the planners' page."))


@admin.register(BoundaryVersion)
class BoundaryVersionAdmin(PlannerOnlyMixin, HistoryMixin, admin.ModelAdmin):
    list_display = ["subdistrict", "number", "label", "status", "effective_from", "published_at"]
    list_filter = ["status", "subdistrict"]
    inlines = [GridInline]
    fields = ["planner_link", "subdistrict", "number", "label", "status", "effective_from", "published_at",
              "based_on", "created_by", "note"]
    readonly_fields = cast(list[str], fields)  # plain names (the stubs type `fields` with groups)


@admin.register(Grid)
class GridAdmin(PlannerOnlyMixin, HistoryMixin, ReadOnlyMapMixin, LeafletGeoAdmin):
    list_display = ["code", "name", "community", "version"]
    list_filter = ["version", "community"]
    search_fields = ["code", "name"]
    list_select_related = ["community", "version__subdistrict"]
    fields = ["planner_link", "version", "subdistrict", "community", "code", "name", "boundary"]
    readonly_fields = fields


@admin.register(DraftGrid)
class DraftGridAdmin(PlannerOnlyMixin, ReadOnlyMapMixin, LeafletGeoAdmin):
    list_display = ["code", "name", "community", "version"]
    list_filter = ["version"]
    search_fields = ["code", "name"]
    list_select_related = ["community", "version__subdistrict"]
    fields = ["planner_link", "version", "community", "code", "name", "boundary"]
    readonly_fields = fields


@admin.register(DraftSave)
class DraftSaveAdmin(PlannerOnlyMixin, admin.ModelAdmin):
    """The log of a draft's saves (who changed which grids when)."""

    list_display = ["version", "revision", "user", "at"]
    list_filter = ["version"]
    fields = ["planner_link", "version", "revision", "user", "at", "summary"]
    readonly_fields = cast(list[str], fields)  # plain names (the stubs type `fields` with groups)


@admin.register(DraftEditor)
class DraftEditorAdmin(PlannerOnlyMixin, admin.ModelAdmin):
    list_display = ["version", "user", "last_seen"]
    fields = ["planner_link", "version", "user", "last_seen"]
    readonly_fields = cast(list[str], fields)  # plain names (the stubs type `fields` with groups)


@admin.register(Water)
class WaterAdmin(LeafletGeoAdmin):
    list_display = ["name", "subdistrict"]


@admin.register(Road)
class RoadAdmin(LeafletGeoAdmin):
    list_display = ["name", "road_class", "one_way", "is_bridge", "speed_kmh", "length_m", "source", "target"]
    list_filter = ["road_class", "one_way", "is_bridge"]
    search_fields = ["name"]


@admin.register(Place)
class PlaceAdmin(LeafletGeoAdmin):
    list_display = ["name", "kind", "address", "contact"]
    list_filter = ["kind"]
    search_fields = ["name", "address"]
    raw_id_fields = ["contact"]
    list_select_related = ["contact"]


@admin.register(Address)
class AddressAdmin(LeafletGeoAdmin):
    list_display = ["text", "place"]
    search_fields = ["text"]
    raw_id_fields = ["road", "place"]
    list_select_related = ["place"]


@admin.register(Tenancy)
class TenancyAdmin(HistoryMixin, admin.ModelAdmin):
    """Who works in which sub-district (geo/tenancy.py): one row per sub-district, or one for a
    whole district (the district centre). Every change is in the audit trail."""

    list_display = ["user", "subdistrict", "district"]
    list_filter = ["subdistrict", "district"]
    search_fields = ["user__username", "subdistrict__code", "subdistrict__name", "district"]
    autocomplete_fields = ["user", "subdistrict"]
