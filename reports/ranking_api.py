"""The monthly ranking's API, the compliance's and the year-end assessment's (/api/v1/reports/).

Thin views: parse, call one selector or service (reports/ranking.py, ranking_services.py,
compliance.py, assessment.py), render. Reads for the report roles (reports.access.REPORT_ROLES) —
and the compliance for a unit's office too, its own unit only (reports.access.compliance_own_unit);
publishing for the governance roles (GOVERNANCE_ROLES); 403 for the others. The sub-district by
`?subdistrict=<code>` (default the first one; unknown: 404); `?unit=` of another sub-district: 404.
A bad `month`, `year` or `unit` is 400 with a message. The Excel files are the pages' (/reports/…/excel/).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from config.permissions import HasRole
from dispatch.models import Unit
from geo.api import SUBDISTRICT_PARAMETER, SubdistrictScopedMixin
from geo.models import Subdistrict
from incidents.idempotency import IdempotentMixin
from reports import assessment, compliance, ranking
from reports.access import GOVERNANCE_ROLES, REPORT_ROLES, compliance_own_unit, may_read_compliance
from reports.periods import month_param, year_param
from reports.ranking_services import ranking_publish
from reports.serializers_ranking import (
    AssessmentSerializer,
    ComplianceSerializer,
    RankingPublishedSerializer,
    RankingPublishInputSerializer,
    RankingSerializer,
)

MONTH_PARAMETER = OpenApiParameter(
    "month", OpenApiTypes.STR, description="The month YYYY-MM, e.g. 2026-11; default: the month before the current "
                                           "one. Malformed or out of range: 400.")
YEAR_PARAMETER = OpenApiParameter(
    "year", OpenApiTypes.STR, description="The year YYYY; default: the current year. Malformed: 400.")
UNIT_PARAMETER = OpenApiParameter(
    "unit", OpenApiTypes.INT, description="Only this unit's members (a unit id of the sub-district; another: 404).")


class ReportView(SubdistrictScopedMixin, APIView):
    permission_classes = [HasRole]
    allowed_roles = REPORT_ROLES


class RankingView(ReportView):
    @extend_schema(summary="The monthly ranking of the grid leaders (published, or computed now)",
                   description="The month's publication when there is one — as published, never recomputed, with "
                               "how many orders count differently now — else the board computed now. Grid leaders "
                               "ranked by arrival, timeliness and disposal rates, the red flag, the red and black "
                               "list with causes, and the same by village/community, department and unit; "
                               "definitions in the README.",
                   parameters=[SUBDISTRICT_PARAMETER, MONTH_PARAMETER], responses=RankingSerializer)
    def get(self, request):
        period = month_param(request.query_params.get("month"))
        shown = ranking.ranking_shown(subdistrict=self.get_subdistrict(), period=period)
        return Response(RankingSerializer(shown.as_dict()).data)


class RankingPublishView(IdempotentMixin, SubdistrictScopedMixin, APIView):
    permission_classes = [HasRole]
    allowed_roles = GOVERNANCE_ROLES

    @extend_schema(summary="Publish (freeze) a month's ranking",
                   description="Computes the month's board and stores it: from then on the page and the API show it "
                               "as published. A month not ended: 400; published already: 409.",
                   parameters=[SUBDISTRICT_PARAMETER], request=RankingPublishInputSerializer,
                   responses={201: RankingPublishedSerializer})
    def post(self, request):
        serializer = RankingPublishInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        period = month_param(serializer.validated_data["month"])
        publication = ranking_publish(subdistrict=self.get_subdistrict(), period=period, actor=request.user)
        return Response(RankingPublishedSerializer({
            "month": period.key, "published_at": publication.published_at,
            "published_by": ranking.user_name(publication.published_by), "board": publication.board,
        }).data, status=status.HTTP_201_CREATED)


class ReadsCompliance(BasePermission):
    """The report roles, and a unit's office for its own unit (reports.access.compliance_own_unit)."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and may_read_compliance(request.user))


class ComplianceView(SubdistrictScopedMixin, APIView):
    permission_classes = [ReadsCompliance]

    def own_unit(self) -> Unit | None:
        """The unit of a unit's office (its own only); None for the report roles (every unit)."""
        return compliance_own_unit(self.request.user)

    def get_subdistrict(self) -> Subdistrict:
        own = self.own_unit()
        if own is None:
            return super().get_subdistrict()
        code = self.request.query_params.get("subdistrict") or None
        if code is not None and code != own.subdistrict.code:
            raise NotFound(_("No such sub-district."))
        return own.subdistrict

    @extend_schema(summary="Arrival compliance per person and per grid",
                   description="The month's arrivals verified by GPS, without a position, flagged far from the scene, "
                               "late — per member and per grid, with the orders behind each flag. A unit's office "
                               "(a department login or a unit leader, linked to an active member) reads its own "
                               "unit only: `unit` defaults to it, another unit or sub-district is 404.",
                   parameters=[SUBDISTRICT_PARAMETER, MONTH_PARAMETER, UNIT_PARAMETER], responses=ComplianceSerializer)
    def get(self, request):
        subdistrict = self.get_subdistrict()
        period = month_param(request.query_params.get("month"))
        own = self.own_unit()
        unit = (compliance.unit_param(request.query_params.get("unit"), subdistrict) if own is None
                else compliance.own_unit_param(request.query_params.get("unit"), own))
        report = compliance.compliance_report(subdistrict=subdistrict, period=period, unit=unit)
        return Response(ComplianceSerializer(report.as_dict()).data)


class AssessmentView(ReportView):
    @extend_schema(summary="The year-end assessment of the departments and villages/communities",
                   description="Over the year: the orders' arrival, timeliness and disposal, the hand-overs' "
                               "acceptance and completion, cases, satisfaction and red flags; a score and a rank.",
                   parameters=[SUBDISTRICT_PARAMETER, YEAR_PARAMETER], responses=AssessmentSerializer)
    def get(self, request):
        period = year_param(request.query_params.get("year"))
        report = assessment.assessment_report(subdistrict=self.get_subdistrict(), period=period)
        return Response(AssessmentSerializer(report.as_dict()).data)
