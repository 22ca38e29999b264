from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from geo.models import Address, BoundaryVersion, Community, Grid, Place, Road, Subdistrict, Water


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
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(BoundaryVersion)
class BoundaryVersionAdmin(admin.ModelAdmin):
    list_display = ["subdistrict", "number", "label", "status", "effective_from", "published_at"]
    list_filter = ["status", "subdistrict"]
    inlines = [GridInline]


@admin.register(Grid)
class GridAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "community", "version"]
    list_filter = ["version", "community"]
    search_fields = ["code", "name"]
    list_select_related = ["community", "version__subdistrict"]


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
