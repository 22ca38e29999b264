"""The year-over-year report's API and the hot-spot layer's (/api/v1/reports/trends/, /heat/).

Thin views: parse, call one selector (reports/trends.py), render. Read-only. The report for the
report roles (reports.access.REPORT_ROLES); the heat map also for the wall's roles
(reports.trends.HEAT_ROLES: the staff roles); 403 for the others. The sub-district by
`?subdistrict=<code>` (default the first one; unknown: 404). A bad `year`, `days` or `category`
is 400 with a message.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.permissions import HasRole
from geo.api import SUBDISTRICT_PARAMETER, SubdistrictScopedMixin
from reports import trends
from reports.access import REPORT_ROLES
from reports.periods import year_param

YEAR_PARAMETER = OpenApiParameter(
    "year", OpenApiTypes.STR,
    description="The year YYYY, e.g. 2026; default: the current year. Malformed, out of range or not begun: 400.")
DAYS_PARAMETER = OpenApiParameter(
    "days", OpenApiTypes.INT,
    description=f"The last N days (1–{trends.HEAT_MAX_DAYS}; the map offers 7, 30 and 90); "
                f"default {trends.HEAT_DEFAULT_DAYS}.")
CATEGORY_PARAMETER = OpenApiParameter("category", OpenApiTypes.STR,
                                      description="A category code; default: every category. Unknown: 400.")


# --- output shapes ---------------------------------------------------------------------------------

class ChangeSerializer(serializers.Serializer):
    this = serializers.IntegerField(allow_null=True, help_text="This year's count; null for a month not begun.")
    last = serializers.IntegerField(help_text="Last year's count over the same span (the zero-growth target).")
    change = serializers.FloatField(allow_null=True, help_text="(this − last) / last; null when new or not begun.")
    new = serializers.BooleanField(help_text="Nothing last year, something this year.")
    within = serializers.BooleanField(allow_null=True, help_text="Within the zero-growth target (this ≤ last).")
    grade = serializers.CharField(allow_blank=True, help_text="good, fair or poor; empty when not graded.")


class MonthCellSerializer(serializers.Serializer):
    month = serializers.IntegerField()
    key = serializers.CharField()
    state = serializers.CharField(help_text="done, running (compared to the same instant last year) or future "
                                            "(not begun).")
    value = ChangeSerializer()


class GroupTrendSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A statistic group, or `total`.")
    name = serializers.CharField()
    ytd = ChangeSerializer(help_text="The year to date against last year to the same instant.")
    months = MonthCellSerializer(many=True)


class GridTrendSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    community = serializers.CharField()
    value = ChangeSerializer()


class SatisfactionSerializer(serializers.Serializer):
    done = serializers.IntegerField(help_text="Call-backs that reached the person.")
    satisfied = serializers.IntegerField()
    basically = serializers.IntegerField(help_text="Basically satisfied.")
    dissatisfied = serializers.IntegerField()
    unreachable = serializers.IntegerField(help_text="Not in the rate.")
    rate = serializers.FloatField(allow_null=True, help_text="(satisfied + basically satisfied) / done.")
    last_rate = serializers.FloatField(allow_null=True)
    change_pp = serializers.FloatField(allow_null=True, help_text="rate − last_rate, percentage points.")
    grade = serializers.CharField(allow_blank=True, help_text="good, fair or poor; empty when not graded.")


class SatisfactionMonthSerializer(serializers.Serializer):
    month = serializers.IntegerField()
    key = serializers.CharField()
    state = serializers.CharField(help_text="done, running or future.")
    value = SatisfactionSerializer(allow_null=True)
    last = SatisfactionSerializer()


class SatisfactionUnitSerializer(serializers.Serializer):
    unit_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    value = SatisfactionSerializer()


class SatisfactionReportSerializer(serializers.Serializer):
    total = SatisfactionSerializer()
    months = SatisfactionMonthSerializer(many=True)
    units = SatisfactionUnitSerializer(many=True)


class TrendsSerializer(serializers.Serializer):
    subdistrict = serializers.CharField()
    subdistrict_name = serializers.CharField()
    year = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    as_of = serializers.DateTimeField(help_text="This year counted until (excluded).")
    compared_until = serializers.DateTimeField(help_text="Last year counted until: the same instant a year before.")
    generated_at = serializers.DateTimeField()
    parameters = serializers.DictField(child=serializers.FloatField())
    groups = GroupTrendSerializer(many=True)
    grid_version = serializers.IntegerField(allow_null=True)
    grids = GridTrendSerializer(many=True)
    unplaced = ChangeSerializer(help_text="Cases placed on no grid of that version (in the totals only).")
    satisfaction = SatisfactionReportSerializer()


@extend_schema_field({"type": "array", "items": {"type": "array", "items": {"type": "number"}, "minItems": 3,
                                                 "maxItems": 3}})
class PointsField(serializers.JSONField):
    """[[lat, lon, cases], ...] as they are (the count stays a whole number)."""


class HeatSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    category = serializers.CharField(allow_blank=True)
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    cell_m = serializers.IntegerField(help_text="The cases are snapped to cells of this size (metres).")
    cases = serializers.IntegerField()
    max_weight = serializers.IntegerField()
    points = PointsField(help_text="[lat, lon, cases]: a cell's cases at their mean position, heaviest first.")


# --- views ------------------------------------------------------------------------------------------

class TrendsView(SubdistrictScopedMixin, APIView):
    permission_classes = [HasRole]
    allowed_roles = REPORT_ROLES

    @extend_schema(summary="Year over year: counts by statistic group, grids and satisfaction",
                   description="Case counts by statistic group per month against the same month a year before and "
                               "the zero-growth target, per grid (the choropleth), and the residents' satisfaction "
                               "rate from the call-backs by month and by unit; definitions in the README.",
                   parameters=[SUBDISTRICT_PARAMETER, YEAR_PARAMETER], responses=TrendsSerializer)
    def get(self, request):
        period = year_param(request.query_params.get("year"))
        report = trends.year_over_year(subdistrict=self.get_subdistrict(), period=period)
        return Response(TrendsSerializer(report.as_dict()).data)


class HeatView(SubdistrictScopedMixin, APIView):
    permission_classes = [HasRole]
    allowed_roles = trends.HEAT_ROLES

    @extend_schema(summary="The hot-spot layer: cases of the last N days as weighted points",
                   description="Cases reported in the last `days` days (of one category, or all), snapped in SQL to "
                               "25 m cells: [lat, lon, cases] per cell, heaviest first.",
                   parameters=[SUBDISTRICT_PARAMETER, DAYS_PARAMETER, CATEGORY_PARAMETER], responses=HeatSerializer)
    def get(self, request):
        subdistrict = self.get_subdistrict()
        days, category = trends.heat_params(request.query_params.get("days"), request.query_params.get("category"))
        heat = trends.heat_map(subdistrict=subdistrict, days=days, category=category)
        return Response(HeatSerializer(heat.as_dict()).data)
