from typing import cast

from django.contrib import admin

from geo.admin import PlannerOnlyMixin, TenantAdminMixin
from planner.models import DraftStaffMove


@admin.register(DraftStaffMove)
class DraftStaffMoveAdmin(TenantAdminMixin, PlannerOnlyMixin, admin.ModelAdmin):
    """The planners' choices of members' grids in drafts (made on the page, applied by publishing)."""

    tenant_field = "version__subdistrict_id"
    list_display = ["version", "member", "draft_grid", "set_by", "at"]
    list_select_related = ["version__subdistrict", "member", "draft_grid", "set_by"]
    fields = ["planner_link", "version", "member", "draft_grid", "set_by", "at"]
    readonly_fields = cast(list[str], fields)  # plain names (the stubs type `fields` with groups)
