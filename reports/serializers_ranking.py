"""The shapes of the ranking, compliance and assessment APIs (reports/ranking_api.py): what the
selectors' `as_dict()` hold, for the schema and the output. A published board is stored in this
shape (RankingPublication.board) and answered as stored."""

from rest_framework import serializers


def _grade() -> serializers.CharField:
    return serializers.CharField(allow_blank=True, help_text="good, fair, poor, or empty without a value.")
RATE_HELP = "A fraction 0–1 (4 decimals); null without a denominator."


def _rate(help_text: str = RATE_HELP) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text=help_text)


class RankingGradesSerializer(serializers.Serializer):
    arrival = _grade()
    timeliness = _grade()
    disposal = _grade()
    score = _grade()


class RankingRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="The member's, unit's or community's id; null: a total.")
    code = serializers.CharField(allow_blank=True)
    name = serializers.CharField()
    group = serializers.CharField(allow_blank=True, help_text="A leader's unit; a unit's kind.")
    community = serializers.CharField(allow_blank=True, help_text="A leader's village/community.")
    community_id = serializers.IntegerField(allow_null=True)
    security_director = serializers.BooleanField(help_text="A grid leader who is also the security director.")
    kind = serializers.CharField(allow_blank=True, help_text="A unit's or a community's kind.")
    dispatched = serializers.IntegerField(help_text="Orders counted (README: what counts as dispatched).")
    arrived = serializers.IntegerField()
    due = serializers.IntegerField(help_text="Counted orders with a deadline: timeliness' denominator.")
    timely = serializers.IntegerField(help_text="Arrived no later than the deadline.")
    disposed = serializers.IntegerField(help_text="Arrived, and the case resolved.")
    arrival_rate = _rate("到场率: arrived / dispatched.")
    timeliness_rate = _rate("及时率: timely / due.")
    disposal_rate = _rate("处置率: disposed / dispatched.")
    score = serializers.FloatField(allow_null=True, help_text="100 × (0.4 arrival + 0.3 timeliness + 0.3 disposal).")
    rank = serializers.IntegerField(allow_null=True, help_text="1, 1, 3 on the score as shown.")
    previous_rank = serializers.IntegerField(allow_null=True)
    previous_score = serializers.FloatField(allow_null=True)
    rank_change = serializers.IntegerField(allow_null=True, help_text="Last month's rank − this month's (+: up).")
    score_change = serializers.FloatField(allow_null=True)
    red_flag = serializers.BooleanField()
    grades = RankingGradesSerializer()


class RankingIdleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(allow_blank=True)
    name = serializers.CharField()
    group = serializers.CharField(allow_blank=True)
    kind = serializers.CharField(allow_blank=True)
    community = serializers.CharField(allow_blank=True)


class RankingTableSerializer(serializers.Serializer):
    rows = RankingRowSerializer(many=True, help_text="Ranked, best first.")
    no_orders = RankingIdleSerializer(many=True, help_text="No order in the month: listed, not ranked.")
    total = RankingRowSerializer()


class RankingTablesSerializer(serializers.Serializer):
    leaders = RankingTableSerializer()
    communities = RankingTableSerializer()
    departments = RankingTableSerializer()
    units = RankingTableSerializer()


class RankingCauseOrderSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="The case number.")
    state = serializers.CharField(required=False, help_text="Not arrived: the order's state.")
    minutes = serializers.IntegerField(required=False, help_text="Late: minutes after the deadline.")


class RankingCauseSerializer(serializers.Serializer):
    indicator = serializers.ChoiceField(["arrival", "timeliness", "disposal"],
                                        help_text="The weakest: furthest below all grid leaders' rate.")
    rate = serializers.FloatField(allow_null=True)
    average = serializers.FloatField(allow_null=True, help_text="The rate of all grid leaders together.")
    not_arrived = RankingCauseOrderSerializer(many=True)
    late = RankingCauseOrderSerializer(many=True)
    unresolved = RankingCauseOrderSerializer(many=True)


class RankingBlackRowSerializer(RankingRowSerializer):
    cause = RankingCauseSerializer()


class RankingThresholdsSerializer(serializers.Serializer):
    rate_good = serializers.FloatField()
    rate_fair = serializers.FloatField()
    score_good = serializers.FloatField()
    score_fair = serializers.FloatField()


class RankingBoardSerializer(serializers.Serializer):
    subdistrict = serializers.CharField()
    subdistrict_name = serializers.CharField()
    month = serializers.CharField()
    first_day = serializers.DateField()
    last_day = serializers.DateField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    computed_at = serializers.DateTimeField()
    previous_month = serializers.CharField()
    previous_source = serializers.ChoiceField(["published", "computed"],
                                              help_text="Where the change is measured from.")
    formula = serializers.CharField()
    weights = serializers.DictField(child=serializers.FloatField())
    thresholds = RankingThresholdsSerializer()
    list_size = serializers.IntegerField()
    tables = RankingTablesSerializer()
    red_flag = RankingRowSerializer(many=True, help_text="流动红旗: ranked first (most orders among those tied).")
    red_list = RankingRowSerializer(many=True)
    black_list = RankingBlackRowSerializer(many=True)


class RankingSerializer(serializers.Serializer):
    published = serializers.BooleanField(help_text="The board is the month's publication (frozen).")
    published_at = serializers.DateTimeField(allow_null=True)
    published_by = serializers.CharField(allow_blank=True)
    changed_since_publication = serializers.IntegerField(
        allow_null=True, help_text="Orders counted differently now than when published (not in the board).")
    publishable = serializers.BooleanField(help_text="Ended and not published yet.")
    not_publishable_because = serializers.CharField(allow_blank=True)
    board = RankingBoardSerializer()


class RankingPublishInputSerializer(serializers.Serializer):
    month = serializers.CharField(max_length=16, help_text="YYYY-MM: a month that has ended.")


class RankingPublishedSerializer(serializers.Serializer):
    month = serializers.CharField()
    published_at = serializers.DateTimeField()
    published_by = serializers.CharField(allow_blank=True)
    board = RankingBoardSerializer()


# --- compliance ------------------------------------------------------------------------------------------

class ComplianceFlaggedOrderSerializer(serializers.Serializer):
    number = serializers.CharField()
    distance_m = serializers.IntegerField()
    arrived_at = serializers.DateTimeField()


class ComplianceLateOrderSerializer(serializers.Serializer):
    number = serializers.CharField()
    minutes = serializers.IntegerField()


class ComplianceGradesSerializer(serializers.Serializer):
    verified = _grade()
    on_time = _grade()
    flagged = _grade()


class ComplianceRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    code = serializers.CharField(allow_blank=True)
    name = serializers.CharField()
    group = serializers.CharField(allow_blank=True, help_text="A member's unit; a grid's village/community.")
    dispatched = serializers.IntegerField()
    arrived = serializers.IntegerField()
    verified = serializers.IntegerField(help_text="Arrived with a position within the allowed distance.")
    no_position = serializers.IntegerField(help_text="Arrived without a fresh position.")
    flagged = serializers.IntegerField(help_text="Arrived beyond the allowed distance.")
    arrived_due = serializers.IntegerField(help_text="Arrivals on orders with a deadline.")
    late = serializers.IntegerField()
    verified_rate = _rate("Verified / arrived.")
    on_time_rate = _rate("(arrived_due − late) / arrived_due.")
    grades = ComplianceGradesSerializer()
    flagged_orders = ComplianceFlaggedOrderSerializer(many=True)
    late_orders = ComplianceLateOrderSerializer(many=True)


class ComplianceUnitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ComplianceSerializer(serializers.Serializer):
    subdistrict = serializers.CharField()
    subdistrict_name = serializers.CharField()
    month = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    unit = ComplianceUnitSerializer(allow_null=True)
    computed_at = serializers.DateTimeField()
    max_distance_m = serializers.IntegerField()
    members = ComplianceRowSerializer(many=True, help_text="Worst first: flagged, then late, then no position.")
    grids = ComplianceRowSerializer(many=True)
    total = ComplianceRowSerializer()


# --- year-end assessment ---------------------------------------------------------------------------------

class AssessmentRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    code = serializers.CharField(allow_blank=True)
    name = serializers.CharField()
    kind = serializers.CharField(allow_blank=True)
    dispatched = serializers.IntegerField()
    arrived = serializers.IntegerField()
    due = serializers.IntegerField()
    timely = serializers.IntegerField()
    disposed = serializers.IntegerField()
    arrival_rate = _rate()
    timeliness_rate = _rate()
    disposal_rate = _rate()
    orders_score = serializers.FloatField(allow_null=True, help_text="On-site: the monthly formula over the year.")
    handovers = serializers.IntegerField(help_text="Hand-overs not returned.")
    returned = serializers.IntegerField()
    accept_due = serializers.IntegerField()
    accepted_in_time = serializers.IntegerField()
    completed = serializers.IntegerField()
    report_due = serializers.IntegerField()
    completed_in_time = serializers.IntegerField()
    acceptance_rate = _rate("受理及时率.")
    completion_rate = _rate("办结率.")
    on_time_rate = _rate("按期办结率.")
    handovers_score = serializers.FloatField(allow_null=True, help_text="Off-site: 30/40/30.")
    cases = serializers.IntegerField()
    callbacks = serializers.IntegerField()
    satisfied = serializers.IntegerField()
    satisfaction_rate = _rate()
    red_flags = serializers.IntegerField()
    score = serializers.FloatField(allow_null=True, help_text="The two scores weighted by their volumes.")
    rank = serializers.IntegerField(allow_null=True)
    grades = serializers.DictField(child=serializers.CharField(allow_blank=True))


class AssessmentIdleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(allow_blank=True)
    name = serializers.CharField()
    kind = serializers.CharField(allow_blank=True)
    cases = serializers.IntegerField()


class AssessmentTableSerializer(serializers.Serializer):
    rows = AssessmentRowSerializer(many=True)
    no_work = AssessmentIdleSerializer(many=True, help_text="Neither orders nor hand-overs in the year.")


class AssessmentSerializer(serializers.Serializer):
    subdistrict = serializers.CharField()
    subdistrict_name = serializers.CharField()
    year = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    computed_at = serializers.DateTimeField()
    running = serializers.BooleanField(help_text="The year has not ended: provisional.")
    weights = serializers.DictField(child=serializers.DictField(child=serializers.FloatField()))
    departments = AssessmentTableSerializer()
    communities = AssessmentTableSerializer()
