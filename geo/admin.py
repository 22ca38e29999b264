from typing import cast

from django.contrib import admin
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import BigIntegerField, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from audit.admin import AuditedUserAdmin, AuditEventsAdmin, HistoryMixin, ReadOnlyAdminMixin, ReadOnlyMapMixin
from audit.models import AuditedUser, UserGroup, UserPermission
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
from geo.tenancy import covered_districts, tenancy_q, tenant_q, tenant_users_q


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
    from the row to its sub-district's id (`tenant_filter`: the rule itself, for a model whose rows
    are not one sub-district's: tenancies, users). Superusers see every sub-district."""

    tenant_field = "subdistrict_id"

    def tenant_filter(self, request) -> Q:
        """The rows a staff user who is not a superuser sees."""
        return tenant_q(request.user, self.tenant_field)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(self.tenant_filter(request))

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
    own `subdistrict_id`, or its member's: shifts, grids served; a whole district's tenancy if the
    district is all theirs: `tenancy_q`), of the users who are theirs (`tenant_users_q`: an
    account's changes, its roles and permissions given or taken), and of the configuration shared by
    every sub-district (categories, rules, roles: rows of no sub-district); never another
    sub-district's, nor another's users."""

    USER_RECORDS = (AuditedUser._meta.label, UserGroup._meta.label, UserPermission._meta.label)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        user = request.user
        if user.is_superuser:
            return queryset
        members = Subdistrict.objects.filter(tenant_q(user, "pk")).values("members__pk")  # geo does not import dispatch
        users = User.objects.filter(tenant_users_q(user)).values("pk")
        return queryset.alias(
            row_subdistrict=Cast(KeyTextTransform("subdistrict_id", "pgh_data"), BigIntegerField()),
            row_member=Cast(KeyTextTransform("member_id", "pgh_data"), BigIntegerField()),
            row_district=KeyTextTransform("district", "pgh_data"),
            row_user=Cast(KeyTextTransform("user_id", "pgh_data"), BigIntegerField()),
            row_id=Cast(KeyTextTransform("id", "pgh_data"), BigIntegerField()),
        ).filter(tenant_q(user, "row_subdistrict") | Q(row_member__in=members)
                 | Q(pgh_obj_model=Tenancy._meta.label, row_district__in=covered_districts(user))
                 | Q(pgh_obj_model=AuditedUser._meta.label, row_id__in=users)
                 | Q(pgh_obj_model__in=self.USER_RECORDS[1:], row_user__in=users)
                 | (~Q(pgh_obj_model__in=self.USER_RECORDS) & ~Q(pgh_data__has_key="subdistrict_id")
                    & ~Q(pgh_data__has_key="member_id")))


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


class TenancyScopeMixin(TenantAdminMixin):
    """Tenancies as a staff user who is not a superuser sees and gives them (geo/tenancy.py
    `tenancy_q`): the rows of their own sub-districts, and a whole district's row only if all its
    sub-districts are theirs (the district centre sees its own district's rows; a sub-district's
    admin never sees one: it names sub-districts that are not theirs). They give a tenancy of one of
    their own sub-districts only, to one of their own users (the choices: `TenantUserAdmin`); a
    whole district's is given, changed and taken away by a superuser only."""

    def tenant_filter(self, request) -> Q:
        return tenancy_q(request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else [*fields, "district"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "subdistrict" and field is not None and not request.user.is_superuser:
            field.required = True  # the district being read only, the row's one scope
        return field


@admin.register(Tenancy)
class TenancyAdmin(TenancyScopeMixin, HistoryMixin, admin.ModelAdmin):
    """Who works in which sub-district (geo/tenancy.py): one row per sub-district, or one for a
    whole district (the district centre). Every change is in the audit trail. A staff user who is
    not a superuser: see TenancyScopeMixin (a whole district's row: read only)."""

    list_display = ["user", "subdistrict", "district"]
    list_filter = ["subdistrict", "district"]
    search_fields = ["user__username", "subdistrict__code", "subdistrict__name", "district"]
    autocomplete_fields = ["user", "subdistrict"]

    def _district_row(self, request, obj) -> bool:
        return obj is not None and bool(obj.district) and not request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return not self._district_row(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._district_row(request, obj) and super().has_delete_permission(request, obj)


# --- users: each sub-district's own ------------------------------------------------------------------

def _own_permissions(user: User):
    """The permissions `user` holds, directly or through a role, whether the account is active or
    not (Django's backend gives an inactive account none: a change could make it active again)."""
    return Permission.objects.filter(Q(user=user) | Q(group__user=user)).distinct()


def _within(granter: User, user: User) -> bool:
    """Whether `user`'s roles and permissions are all `granter`'s own."""
    return (not Group.objects.filter(user=user).exclude(user=granter).exists()
            and not _own_permissions(user).exclude(pk__in=_own_permissions(granter).values("pk")).exists())


class TenancyFormSet(BaseInlineFormSet):
    """A user's tenancies on their page. `keeps_one`: the user must keep one at least (given by a
    staff user who is not a superuser, to a user who works nowhere else: a user of no sub-district
    is the administrators' only, and would vanish from the page)."""

    keeps_one = False

    def clean(self):
        super().clean()
        if not self.keeps_one or any(self.errors):
            return
        kept = [form for form in self.forms
                if form.cleaned_data.get("subdistrict") and not self._should_delete_form(form)]
        if not kept:
            raise ValidationError(_("Give the user one of your sub-districts at least: a user who works in "
                                    "none is the deployment administrators' only."), code="no_tenancy")


class TenancyInline(TenancyScopeMixin, admin.TabularInline):
    """A user's tenancies on their page: a superuser's all of them; a staff user who is not a
    superuser edits the rows of one sub-district (their own: the user is theirs), never a whole
    district's (not shown here: Geo › Tenancies shows it, read only)."""

    model = Tenancy
    formset = TenancyFormSet
    extra = 0

    def tenant_filter(self, request) -> Q:
        return tenant_q(request.user, "subdistrict_id")  # one sub-district's rows: the district's are not edited here

    def get_fields(self, request, obj=None):
        return ["subdistrict", "district"] if request.user.is_superuser else ["subdistrict"]

    def get_readonly_fields(self, request, obj=None):
        return []

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.keeps_one = not request.user.is_superuser and (
            obj is None or not (Tenancy.objects.filter(user=obj).exclude(district="").exists()
                                or Subdistrict.objects.filter(members__user=obj).exists()))
        return formset


admin.site.unregister(User)


@admin.register(User)
class TenantUserAdmin(TenantAdminMixin, AuditedUserAdmin):
    """The accounts (Django's user admin, with the history: audit/admin.py), with their tenancies.
    A staff user who is not a superuser:

    - sees, opens and finds (the list, searches, a form's choices of a user — a member's login, a
      tenancy's user —, the autocomplete) only the users who are theirs (`tenant_users_q`: every
      sub-district the user works in is one of theirs; never a superuser, nor a user who works
      nowhere, nor one who works in another sub-district too). Another's user is as if deleted, as
      every other row of the admin (its password page: 404);
    - changes or deletes (password included) only those whose roles and permissions are all their
      own (`_within`: else the page is read only) — taking over an account that may do more would
      be a way to do more;
    - gives only the roles (groups) they hold and the permissions they have (the choices offered),
      never superuser status (read only; Django's UserAdmin itself lets anyone who may change users
      tick it, for any user, themselves included);
    - gives tenancies of their own sub-districts only (TenancyInline); adds a user only if they may
      add tenancies too, and gives the new user one of their sub-districts at once (TenancyFormSet),
      or the user would be nobody's but the administrators'.

    The roles themselves are the deployment's: a non-superuser only views them (AuditedGroupAdmin)."""

    inlines = [TenancyInline]

    def tenant_filter(self, request) -> Q:
        return tenant_users_q(request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else [*fields, "is_superuser"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            if db_field.name == "groups":
                kwargs["queryset"] = Group.objects.filter(user=request.user)
            elif db_field.name == "user_permissions":
                kwargs["queryset"] = _own_permissions(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and (
            request.user.is_superuser or request.user.has_perm(f"{Tenancy._meta.app_label}.add_tenancy"))

    def _may_change(self, request, obj) -> bool:
        return request.user.is_superuser or obj is None or _within(request.user, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_change(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_change(request, obj)
