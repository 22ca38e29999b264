from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from audit.admin import HistoryMixin, ReadOnlyMapMixin, service_action
from config.roles import has_role
from geo import services
from geo.models import Address, BoundaryVersion, Community, Grid, Place, Road, Subdistrict, Water


def _published(version: BoundaryVersion | None) -> bool:
    return version is not None and version.status == BoundaryVersion.Status.PUBLISHED


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


class PublishForm(forms.Form):
    effective_from = forms.DateTimeField(
        label=_("effective from"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        initial=lambda: timezone.localtime().replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M"),
    )


@admin.register(BoundaryVersion)
class BoundaryVersionAdmin(HistoryMixin, admin.ModelAdmin):
    """A draft's label and note are edited here (its grids in the grids' admin); its status and
    times only by the "publish" action (`geo.services.grid_version_publish`). A published version
    is read only: a new boundary is a new draft."""

    list_display = ["subdistrict", "number", "label", "status", "effective_from", "published_at"]
    list_filter = ["status", "subdistrict"]
    inlines = [GridInline]
    readonly_fields = ["status", "effective_from", "published_at"]
    actions = [
        service_action(name="publish", description=_("Publish the grid version"), permission="publish",
                       form=PublishForm,
                       run=lambda *, obj, actor, effective_from: services.grid_version_publish(
                           version_id=obj.pk, effective_from=effective_from, actor=actor)),
    ]

    def has_publish_permission(self, request) -> bool:
        return has_role(request.user, *services.PUBLISH_ROLES)

    def has_change_permission(self, request, obj=None) -> bool:
        return not _published(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not _published(obj) and super().has_delete_permission(request, obj)


@admin.register(Grid)
class GridAdmin(HistoryMixin, ReadOnlyMapMixin, LeafletGeoAdmin):
    """Grids of a draft version are edited here; those of a published version are read only, and a
    new grid goes into a draft only."""

    list_display = ["code", "name", "community", "version"]
    list_filter = ["version", "community"]
    search_fields = ["code", "name"]
    list_select_related = ["community", "version__subdistrict"]

    def has_change_permission(self, request, obj=None) -> bool:
        return not (obj is not None and _published(obj.version)) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not (obj is not None and _published(obj.version)) and super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "version":
            kwargs["queryset"] = BoundaryVersion.objects.filter(status=BoundaryVersion.Status.DRAFT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


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
