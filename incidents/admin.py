from typing import cast

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from leaflet.admin import LeafletGeoAdmin

from audit.admin import HistoryMixin, ReadOnlyAdminMixin, ReadOnlyMapMixin
from geo.admin import TenantAdminMixin
from incidents.feedback import channel_secret_issue, secret_mask
from incidents.models import (
    CallbackTask,
    Category,
    CategoryRule,
    Channel,
    FeedbackDelivery,
    Handover,
    IdempotentRequest,
    Incident,
    IncidentEvent,
    IncidentPhoto,
    Party,
    Report,
)


@admin.register(Category)
class CategoryAdmin(HistoryMixin, admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "scope", "is_police", "statistic_group", "major_by_default"]
    list_filter = ["scope", "is_police", "statistic_group"]


@admin.register(Channel)
class ChannelAdmin(HistoryMixin, admin.ModelAdmin):
    """The callback signing secret is never shown in clear nor typed in: it is generated (first
    callback, `manage.py callback_secret`, or the rotate action) and shown masked."""

    list_display = ["code", "name", "kind", "phone", "active"]
    list_filter = ["kind", "active"]
    exclude = ["callback_secret"]
    readonly_fields = ["callback_secret_masked"]
    actions = ["rotate_callback_secret"]

    @admin.display(description=Channel._meta.get_field("callback_secret").verbose_name)
    def callback_secret_masked(self, obj):
        if obj is None or not obj.callback_secret:
            return _("not set yet: created with the first callback or by manage.py callback_secret")
        return secret_mask(obj.callback_secret)

    @admin.action(description=_("Rotate callback secret"), permissions=["change"])
    def rotate_callback_secret(self, request, queryset):
        channels = list(queryset)
        for channel in channels:
            channel_secret_issue(channel, rotate=True)
        self.message_user(request, ngettext(
            "Callback secret rotated for %(count)d channel: give the new one (manage.py callback_secret) "
            "to the district centre.",
            "Callback secret rotated for %(count)d channels: give the new ones (manage.py callback_secret) "
            "to the district centre.",
            len(channels)) % {"count": len(channels)}, messages.SUCCESS)


class IncidentEventInline(admin.TabularInline):
    """The timeline is append-only: shown, never edited here."""

    model = IncidentEvent
    fields = ["at", "kind", "from_status", "to_status", "actor", "note"]
    readonly_fields = cast(list[str], fields)  # plain names (the stubs type `fields` with groups)
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(TenantAdminMixin, ReadOnlyAdminMixin, ReadOnlyMapMixin, LeafletGeoAdmin):
    """Cases are read only here, the description included: every change of a case is a move of its
    flow or a service (status, grid, location, closure, category, level), made on the console or
    the API and written to the timeline. The supervisor's moves are this admin's actions
    (dispatch/admin.py adds them: the moves' one home is dispatch.services.incident_transition)."""

    list_display = ["number", "category", "channel", "status", "major", "grid", "reported_at"]
    list_filter = ["status", "flow", "major", "category", "channel"]
    search_fields = ["number", "external_id", "description", "address_text"]
    date_hierarchy = "reported_at"
    raw_id_fields = ["grid", "community", "place", "created_by"]
    list_select_related = ["category", "channel", "grid"]
    exclude = ["caller_name", "caller_phone"]
    readonly_fields = ["caller_name_masked", "caller_phone_masked"]
    inlines = [IncidentEventInline]


@admin.register(IncidentEvent)
class IncidentEventAdmin(TenantAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The timeline is append-only and written by the services: never added to here."""

    list_display = ["id", "incident", "kind", "from_status", "to_status", "at"]
    list_filter = ["kind"]
    raw_id_fields = ["incident", "actor", "actor_member"]
    exclude = ["data"]
    readonly_fields = ["data_masked"]  # entries written before names were stored masked, masked too


@admin.register(CategoryRule)
class CategoryRuleAdmin(HistoryMixin, admin.ModelAdmin):
    list_display = ["keyword", "category", "weight", "active"]
    list_filter = ["active", "category"]
    search_fields = ["keyword"]
    list_editable = ["weight", "active"]


# Reports, people involved, call-backs and deliveries belong to a case's lifecycle (intake, the
# party service, the call-back desk, the feedback worker): read only here. Names and phones of the
# public are shown masked, as on every page; a full value is revealed only through the logged reveal
# of the incident page (POST /api/v1/incidents/{id}/reveal/), never in the admin.

@admin.register(Report)
class ReportAdmin(TenantAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    tenant_field = "incident__subdistrict_id"
    list_display = ["incident", "channel", "external_id", "caller_name_masked", "received_at"]
    list_filter = ["channel"]
    search_fields = ["external_id", "incident__number"]
    exclude = ["caller_name", "caller_phone"]
    readonly_fields = ["caller_name_masked", "caller_phone_masked"]
    raw_id_fields = ["incident", "received_by"]


@admin.register(Party)
class PartyAdmin(TenantAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """ID numbers, names and phones stay masked here too."""

    tenant_field = "incident__subdistrict_id"
    list_display = ["incident", "name_masked", "role", "id_number_masked", "registered_at"]
    exclude = ["id_number", "name", "phone"]
    readonly_fields = ["name_masked", "phone_masked", "id_number_masked"]
    raw_id_fields = ["incident", "registered_by"]


@admin.register(IncidentPhoto)
class IncidentPhotoAdmin(TenantAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Photos from the scene, attached by the on-site report's service: read only here (they are
    served to the people who see the case through /api/v1/photos/{id}/, never as public files)."""

    tenant_field = "incident__subdistrict_id"
    list_display = ["incident", "event", "position", "uploaded_by", "content_type", "taken_at", "created_at"]
    raw_id_fields = ["incident", "event", "uploaded_by", "member"]


@admin.register(Handover)
class HandoverAdmin(TenantAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Hand-overs to offices, read only: each is created, accepted, returned or completed by a move
    of the case's flow (the console, the offices' queue), which the timeline records."""

    tenant_field = "incident__subdistrict_id"
    list_display = ["incident", "unit", "kind", "state", "created_at", "decided_at"]
    list_filter = ["kind", "state", "unit"]
    raw_id_fields = ["incident", "created_by", "decided_by"]


@admin.register(FeedbackDelivery)
class FeedbackDeliveryAdmin(TenantAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Result callbacks to the district centre, sent and retried by the feedback worker."""

    tenant_field = "incident__subdistrict_id"
    list_display = ["incident", "url", "state", "attempts", "next_attempt_at", "delivered_at"]
    list_filter = ["state"]
    raw_id_fields = ["incident", "report"]


@admin.register(CallbackTask)
class CallbackTaskAdmin(TenantAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Satisfaction call-backs, completed at the call-back desk (`callback_complete`)."""

    tenant_field = "incident__subdistrict_id"
    list_display = ["incident", "name_masked", "state", "satisfaction", "done_at"]
    list_filter = ["state", "satisfaction"]
    exclude = ["name", "phone"]
    readonly_fields = ["name_masked", "phone_masked"]
    raw_id_fields = ["incident", "done_by"]


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(admin.ModelAdmin):
    """The API's idempotency keys and their stored answers (incidents/idempotency.py): read only, and
    for superusers only — the answers are of any sub-district's cases (geo/tenancy.py)."""

    list_display = ["created_at", "user", "key", "method", "path", "response_status"]
    list_filter = ["method", "response_status"]
    search_fields = ["key", "path", "user__username"]
    raw_id_fields = ["user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_module_permission(self, request):
        return request.user.is_superuser
