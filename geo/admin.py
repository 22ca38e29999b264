from typing import cast

from django.contrib import admin
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.core.exceptions import FieldDoesNotExist
from django.db.models import BigIntegerField, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from audit.admin import AuditEventsAdmin, HistoryMixin, ReadOnlyAdminMixin, ReadOnlyMapMixin
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
from geo.tenancy import tenant_q


def _is_relation(model, path: str) -> bool:
    try:
        return bool(get_fields_from_path(model, path)[-1].is_relation)
    except (FieldDoesNotExist, NotRelationField):
        return False


class TenantAdminMixin:
    """A model of the sub-districts in the admin (geo/tenancy.py). A staff user who is not a
    superuser lists, searches, opens and acts on the rows of their own sub-districts only: another's
    row is as if it did not exist (its change, history and delete pages send back to the index, as
    for a row deleted). The related filters beside the list offer only what the list holds, and a
    form's choices of a related model of the sub-districts only the user's. `tenant_field`: the path
    from the row to its sub-district's id. Superusers see every sub-district."""

    tenant_field = "subdistrict_id"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(tenant_q(request.user, self.tenant_field))

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if request.user.is_superuser:
            return filters
        return [(f, admin.RelatedOnlyFieldListFilter) if isinstance(f, str) and _is_relation(self.model, f) else f
                for f in filters]

    def _scoped_choices(self, db_field, request, kwargs) -> None:
        related = self.admin_site._registry.get(db_field.remote_field.model)  # type: ignore[attr-defined]
        if not request.user.is_superuser and "queryset" not in kwargs and isinstance(related, TenantAdminMixin):
            kwargs["queryset"] = related.get_queryset(request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        self._scoped_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        self._scoped_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class TenantAuditEventsAdmin(AuditEventsAdmin):
    """The audit trail's list (audit/admin.py) as settings.PGHISTORY_ADMIN_CLASS registers it: for a
    staff user who is not a superuser, the change records of their sub-districts' rows (the row's
    own `subdistrict_id`, or its member's: shifts, grids served) and of the configuration shared by
    every sub-district (categories, rules, users and roles: rows of no sub-district); never another
    sub-district's."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        user = request.user
        if user.is_superuser:
            return queryset
        members = Subdistrict.objects.filter(tenant_q(user, "pk")).values("members__pk")  # geo does not import dispatch
        return queryset.alias(
            row_subdistrict=Cast(KeyTextTransform("subdistrict_id", "pgh_data"), BigIntegerField()),
            row_member=Cast(KeyTextTransform("member_id", "pgh_data"), BigIntegerField()),
        ).filter(tenant_q(user, "row_subdistrict") | Q(row_member__in=members)
                 | (~Q(pgh_data__has_key="subdistrict_id") & ~Q(pgh_data__has_key="member_id")))


@admin.register(Subdistrict)
class SubdistrictAdmin(TenantAdminMixin, LeafletGeoAdmin):
    tenant_field = "pk"
    list_display = ["code", "name", "district", "city"]
    search_fields = ["code", "name"]


@admin.register(Community)
class CommunityAdmin(TenantAdminMixin, LeafletGeoAdmin):
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
class BoundaryVersionAdmin(TenantAdminMixin, PlannerOnlyMixin, HistoryMixin, admin.ModelAdmin):
    list_display = ["subdistrict", "number", "label", "status", "effective_from", "published_at"]
    list_filter = ["status", "subdistrict"]
    inlines = [GridInline]
    fields = ["planner_link", "subdistrict", "number", "label", "status", "effective_from", "published_at",
              "based_on", "created_by", "note"]
    readonly_fields = cast(list[str], fields)  # plain names (the stubs type `fields` with groups)


@admin.register(Grid)
class GridAdmin(TenantAdminMixin, PlannerOnlyMixin, HistoryMixin, ReadOnlyMapMixin, LeafletGeoAdmin):
    list_display = ["code", "name", "community", "version"]
    list_filter = ["version", "community"]
    search_fields = ["code", "name"]
    list_select_related = ["community", "version__subdistrict"]
    fields = ["planner_link", "version", "subdistrict", "community", "code", "name", "boundary"]
    readonly_fields = fields


@admin.register(DraftGrid)
class DraftGridAdmin(TenantAdminMixin, PlannerOnlyMixin, ReadOnlyMapMixin, LeafletGeoAdmin):
    tenant_field = "version__subdistrict_id"
    list_display = ["code", "name", "community", "version"]
    list_filter = ["version"]
    search_fields = ["code", "name"]
    list_select_related = ["community", "version__subdistrict"]
    fields = ["planner_link", "version", "community", "code", "name", "boundary"]
    readonly_fields = fields


@admin.register(DraftSave)
class DraftSaveAdmin(TenantAdminMixin, PlannerOnlyMixin, admin.ModelAdmin):
    """The log of a draft's saves (who changed which grids when)."""

    tenant_field = "version__subdistrict_id"
    list_display = ["version", "revision", "user", "at"]
    list_filter = ["version"]
    fields = ["planner_link", "version", "revision", "user", "at", "summary"]
    readonly_fields = cast(list[str], fields)  # plain names (the stubs type `fields` with groups)


@admin.register(DraftEditor)
class DraftEditorAdmin(TenantAdminMixin, PlannerOnlyMixin, admin.ModelAdmin):
    tenant_field = "version__subdistrict_id"
    list_display = ["version", "user", "last_seen"]
    fields = ["planner_link", "version", "user", "last_seen"]
    readonly_fields = cast(list[str], fields)  # plain names (the stubs type `fields` with groups)


@admin.register(Water)
class WaterAdmin(TenantAdminMixin, LeafletGeoAdmin):
    list_display = ["name", "subdistrict"]


@admin.register(Road)
class RoadAdmin(TenantAdminMixin, LeafletGeoAdmin):
    list_display = ["name", "road_class", "one_way", "is_bridge", "speed_kmh", "length_m", "source", "target"]
    list_filter = ["road_class", "one_way", "is_bridge"]
    search_fields = ["name"]


@admin.register(Place)
class PlaceAdmin(TenantAdminMixin, LeafletGeoAdmin):
    list_display = ["name", "kind", "address", "contact"]
    list_filter = ["kind"]
    search_fields = ["name", "address"]
    raw_id_fields = ["contact"]
    list_select_related = ["contact"]


@admin.register(Address)
class AddressAdmin(TenantAdminMixin, LeafletGeoAdmin):
    list_display = ["text", "place"]
    search_fields = ["text"]
    raw_id_fields = ["road", "place"]
    list_select_related = ["place"]


@admin.register(Tenancy)
class TenancyAdmin(TenantAdminMixin, HistoryMixin, admin.ModelAdmin):
    """Who works in which sub-district (geo/tenancy.py): one row per sub-district, or one for a
    whole district (the district centre). Every change is in the audit trail. A staff user who is
    not a superuser sees the rows of their own sub-districts (a district's rows: superusers only)."""

    list_display = ["user", "subdistrict", "district"]
    list_filter = ["subdistrict", "district"]
    search_fields = ["user__username", "subdistrict__code", "subdistrict__name", "district"]
    autocomplete_fields = ["user", "subdistrict"]
