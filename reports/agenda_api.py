"""The weekly meeting's API (/api/v1/reports/): the agenda, the meeting's decisions, the interviews.

Thin views: parse, call one selector or service (reports/agenda.py, reports/interviews.py), render.
Reads for the report roles (reports.access.REPORT_ROLES), writes for the governance roles (the
meeting's decisions: those of them that take assignment forms in, `reports.agenda.DECISION_ROLES`);
403 for the others. The sub-district by `?subdistrict=<code>` (default the first one; unknown: 404),
an interview of another sub-district: 404. A bad `week` is 400 with a message. Every POST honours
`Idempotency-Key` (incidents/idempotency.py).
"""

from dataclasses import asdict

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config.permissions import HasRole
from config.roles import UserRole
from geo.api import SUBDISTRICT_PARAMETER, SubdistrictScopedMixin
from geo.models import Community
from incidents.idempotency import IdempotentMixin
from incidents.models import Category
from incidents.serializers import unit_field
from reports import agenda as agenda_module
from reports import interviews
from reports.access import GOVERNANCE_ROLES, REPORT_ROLES
from reports.periods import week_param

WEEK_PARAMETER = OpenApiParameter(
    "week", OpenApiTypes.STR,
    description="ISO week YYYY-Www (Monday first), e.g. 2026-W48; default: the week before the current one. "
                "Malformed or out of range: 400.")
STATE_PARAMETER = OpenApiParameter("state", OpenApiTypes.STR, enum=list(interviews.STATES),
                                   description="Only the interviews in this state; default: all.")


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- output shapes ---------------------------------------------------------------------------------

class CaseRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    category = serializers.CharField()
    category_code = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField()
    reported_at = serializers.DateTimeField()
    address = serializers.CharField()
    url = serializers.CharField(help_text="The case's page.")


class HotSpotSerializer(serializers.Serializer):
    category = serializers.CharField()
    category_code = serializers.CharField()
    count = serializers.IntegerField(help_text="Cases in the cluster over the window.")
    in_week = serializers.IntegerField(help_text="Of them, reported in the week.")
    first_at = serializers.DateTimeField()
    last_at = serializers.DateTimeField()
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    radius_m = serializers.FloatField(help_text="The farthest case from the centre, metres.")
    addresses = serializers.ListField(child=serializers.CharField())
    cases = CaseRefSerializer(many=True)


class HandedOverSerializer(serializers.Serializer):
    case = CaseRefSerializer()
    handover = serializers.IntegerField()
    unit = serializers.CharField()
    state = serializers.CharField()
    state_display = serializers.CharField()
    handed_at = serializers.DateTimeField()
    accept_by = serializers.DateTimeField(allow_null=True)
    deadline = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()


class UnstableSerializer(serializers.Serializer):
    case = CaseRefSerializer()
    kinds = serializers.ListField(child=serializers.ChoiceField(["major", "mass", "sensitive"]))
    kinds_display = serializers.ListField(child=serializers.CharField())
    in_week = serializers.BooleanField()
    finished = serializers.BooleanField()
    level = serializers.IntegerField()


class OfficePartSerializer(serializers.Serializer):
    unit = serializers.CharField()
    state = serializers.CharField()
    state_display = serializers.CharField()
    deadline = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()


class TaskSerializer(serializers.Serializer):
    case = CaseRefSerializer()
    description = serializers.CharField()
    deadline = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()
    overdue_days = serializers.IntegerField()
    finished_at = serializers.DateTimeField(allow_null=True)
    finished_late = serializers.BooleanField()
    meeting = serializers.CharField(help_text="The week of the meeting that decided it; empty for another form.",
                                    allow_blank=True)
    offices = OfficePartSerializer(many=True)


class RectificationSerializer(serializers.Serializer):
    interview = serializers.IntegerField()
    target = serializers.CharField()
    target_kind = serializers.ChoiceField(["unit", "community"])
    reason = serializers.CharField()
    held_at = serializers.DateTimeField()
    deadline = serializers.DateTimeField()
    overdue_days = serializers.IntegerField()
    alarmed_at = serializers.DateTimeField(allow_null=True)


class DecisionSerializer(serializers.Serializer):
    seq = serializers.IntegerField(help_text="The decision's number within the meeting.")
    task = TaskSerializer()


class AgendaParametersSerializer(serializers.Serializer):
    hot_eps_m = serializers.IntegerField()
    hot_min_points = serializers.IntegerField()
    hot_window_weeks = serializers.IntegerField()
    hot_srid = serializers.IntegerField()
    unstable_categories = serializers.ListField(child=serializers.CharField())


class AgendaSerializer(serializers.Serializer):
    subdistrict = serializers.CharField()
    subdistrict_name = serializers.CharField()
    week = serializers.CharField()
    first_day = serializers.DateField()
    last_day = serializers.DateField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    window_start = serializers.DateTimeField()
    generated_at = serializers.DateTimeField()
    parameters = AgendaParametersSerializer()
    counts = serializers.DictField(child=serializers.IntegerField())
    hot_spots = HotSpotSerializer(many=True)
    handed_over = HandedOverSerializer(many=True)
    unstable = UnstableSerializer(many=True)
    tasks = TaskSerializer(many=True)
    rectifications = RectificationSerializer(many=True)
    decisions = DecisionSerializer(many=True)


class InterviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    target = serializers.CharField(source="target_name")
    target_kind = serializers.CharField()
    unit = serializers.IntegerField(source="unit_id", allow_null=True)
    community = serializers.IntegerField(source="community_id", allow_null=True)
    held_at = serializers.DateTimeField()
    reason = serializers.CharField()
    findings = serializers.CharField()
    requirements = serializers.CharField()
    deadline = serializers.DateTimeField()
    state = serializers.CharField(source="view_state", help_text="open (awaiting rectification), overdue (open "
                                  "past its deadline) or rectified.")
    rectified_at = serializers.DateTimeField(allow_null=True)
    rectification_note = serializers.CharField(allow_blank=True)
    overdue_alarmed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


def interview_data(interview) -> dict:
    interview.target_name = interviews.target_name(interview)
    interview.target_kind = "unit" if interview.unit_id else "community"
    return InterviewSerializer(interview).data


# --- input shapes -----------------------------------------------------------------------------------

class DecisionInputSerializer(serializers.Serializer):
    category = serializers.SlugRelatedField(slug_field="code", queryset=Category.objects.all(),
                                            error_messages={"does_not_exist": _("Unknown category “{value}”.")})
    description = serializers.CharField(max_length=4000, help_text="The decision: what is to be done.")
    offices = unit_field(many=True, allow_empty=False, help_text="The responsible offices (unit ids).")
    deadline = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                         help_text="The result's deadline; default: the offices' own.")
    address = serializers.CharField(required=False, allow_blank=True, default="", max_length=256)


class InterviewInputSerializer(serializers.Serializer):
    unit = unit_field(required=False, allow_null=True, default=None, help_text="The unit interviewed (its id)…")
    community = serializers.PrimaryKeyRelatedField(
        queryset=Community.objects.all(), required=False, allow_null=True, default=None,
        help_text="…or the village/community (its id): one of the two.",
        error_messages={"does_not_exist": _("Unknown village/community {pk_value}."),
                        "incorrect_type": _("A village/community is given by its id (a number).")})
    held_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                        help_text="When it was held; default now, never in the future.")
    reason = serializers.CharField(max_length=200)
    findings = serializers.CharField(max_length=4000)
    requirements = serializers.CharField(max_length=4000)
    deadline = serializers.DateTimeField(help_text="Rectify by: in the future, within a year.")


class RectifyInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=4000, help_text="What was rectified.")
    rectified_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                             help_text="When; default now, never in the future.")


# --- views ------------------------------------------------------------------------------------------

class ReportsView(IdempotentMixin, SubdistrictScopedMixin, APIView):
    permission_classes = [HasRole]

    @property
    def allowed_roles(self):
        return REPORT_ROLES if self.request.method in ("GET", "HEAD", "OPTIONS") else self.write_roles

    write_roles: tuple[UserRole, ...] = GOVERNANCE_ROLES


class AgendaView(ReportsView):
    @extend_schema(summary="The weekly meeting's agenda of a sub-district",
                   description="Hot issues (DBSCAN per category), cases handed over on site still open, major "
                               "unstable factors, the assigned tasks' progress (overdue first), overdue "
                               "rectifications and the decisions this meeting recorded; definitions in the README.",
                   parameters=[SUBDISTRICT_PARAMETER, WEEK_PARAMETER], responses=AgendaSerializer)
    def get(self, request):
        period = week_param(request.query_params.get("week"))
        agenda = agenda_module.weekly_agenda(subdistrict=self.get_subdistrict(), period=period)
        return Response(AgendaSerializer(agenda.as_dict()).data)


class DecisionView(ReportsView):
    write_roles = agenda_module.DECISION_ROLES

    @extend_schema(summary="Record a decision of the week's meeting as an assignment form",
                   description="Taken by the off-site intake on the joint-consultation assignment channel: a case "
                               "of the off-site flow with a part for each office. 201 with the decision.",
                   parameters=[SUBDISTRICT_PARAMETER, WEEK_PARAMETER], request=DecisionInputSerializer,
                   responses={201: DecisionSerializer})
    def post(self, request):
        period = week_param(request.query_params.get("week"))
        subdistrict = self.get_subdistrict()
        data = _valid(DecisionInputSerializer, request.data)
        incident = agenda_module.meeting_decision_record(
            actor=request.user, subdistrict=subdistrict, period=period, category=data["category"],
            description=data["description"], offices=data["offices"], deadline=data["deadline"],
            address=data["address"])
        decisions = agenda_module.meeting_decisions(subdistrict=subdistrict, period=period)
        decision = next(d for d in decisions if d.task.case.id == incident.pk)
        return Response(DecisionSerializer(asdict(decision)).data, status=status.HTTP_201_CREATED)


class InterviewListView(ReportsView):
    @extend_schema(summary="The sub-district's accountability interviews, newest first",
                   parameters=[SUBDISTRICT_PARAMETER, STATE_PARAMETER], responses=InterviewSerializer(many=True))
    def get(self, request):
        rows = interviews.interview_list(subdistrict=self.get_subdistrict(),
                                         state=request.query_params.get("state") or None)
        return Response([interview_data(row) for row in rows])

    @extend_schema(summary="Record an accountability interview of a unit or a village/community",
                   parameters=[SUBDISTRICT_PARAMETER], request=InterviewInputSerializer,
                   responses={201: InterviewSerializer})
    def post(self, request):
        subdistrict = self.get_subdistrict()
        data = _valid(InterviewInputSerializer, request.data)
        interview = interviews.interview_record(actor=request.user, subdistrict=subdistrict, **data)
        interview = interviews.interview_get(subdistrict=subdistrict, interview_id=interview.pk)
        return Response(interview_data(interview), status=status.HTTP_201_CREATED)


class InterviewView(ReportsView):
    def get_interview(self, pk: int):
        interview = interviews.interview_get(subdistrict=self.get_subdistrict(), interview_id=pk)
        if interview is None:
            raise NotFound(_("No such interview."))
        return interview


class InterviewDetailView(InterviewView):
    @extend_schema(summary="One accountability interview", parameters=[SUBDISTRICT_PARAMETER],
                   responses=InterviewSerializer)
    def get(self, request, pk: int):
        return Response(interview_data(self.get_interview(pk)))


class InterviewRectifyView(InterviewView):
    @extend_schema(summary="Record the rectification of an open interview", parameters=[SUBDISTRICT_PARAMETER],
                   request=RectifyInputSerializer, responses=InterviewSerializer)
    def post(self, request, pk: int):
        subdistrict = self.get_subdistrict()
        data = _valid(RectifyInputSerializer, request.data)
        interviews.interview_rectify(actor=request.user, subdistrict=subdistrict, interview_id=pk,
                                     note=data["note"], rectified_at=data["rectified_at"])
        return Response(interview_data(self.get_interview(pk)))
