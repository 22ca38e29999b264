"""The governance records in the admin: shown, never edited here (their services write them)."""

from django.contrib import admin

from audit.admin import ReadOnlyAdminMixin
from geo.admin import TenantAdminMixin
from reports.models import Interview, RankingPublication


@admin.register(Interview)
class InterviewAdmin(TenantAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """An interview has a lifecycle (recorded, rectified, alarmed once when overdue: reports/interviews.py)."""

    list_display = ("held_at", "subdistrict", "unit", "community", "reason", "deadline", "state", "rectified_at",
                    "overdue_alarmed_at")
    list_filter = ("subdistrict", "state")
    search_fields = ("reason", "findings", "unit__name", "community__name")
    date_hierarchy = "held_at"


@admin.register(RankingPublication)
class RankingPublicationAdmin(TenantAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """A published month's ranking is frozen (a database trigger refuses changes): shown only."""

    list_display = ("month", "subdistrict", "published_at", "published_by", "formula")
    list_filter = ("subdistrict",)
    date_hierarchy = "month"
    exclude = ("board", "outcomes")  # the page (/reports/ranking/?month=) shows them as published
