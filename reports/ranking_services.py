"""Publishing a month's ranking (发布): the board is computed once and frozen.

`ranking_publish` computes the month's board (reports/ranking.py) and stores it as a
`RankingPublication`, with each counted order's outcome read in the same statement (so that the
page can later say how many orders count differently now, without recomputing the board). Only a
month that has ended is published (400 before), and only once (409: the unique constraint is the
last word when two publish at once); the database refuses any later change of the row (trigger).
"""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from config.errors import DomainError, TransitionRefused
from geo.models import Subdistrict
from reports.models import RankingPublication
from reports.periods import Period
from reports.ranking import FORMULA, ranking_board, user_name


def _already(publication: RankingPublication, period: Period) -> TransitionRefused:
    return TransitionRefused(
        _("The ranking of %(month)s was published on %(at)s by %(who)s; a published ranking is never changed.")
        % {"month": period.key, "at": date_format(timezone.localtime(publication.published_at), "Y-m-d H:i"),
           "who": user_name(publication.published_by) or "—"}, code="published")


def ranking_publish(*, subdistrict: Subdistrict, period: Period, actor) -> RankingPublication:
    """Publish (freeze) one month's ranking. Precondition: the actor holds a governance role (the
    view checks it). Refused: a month not ended (400), a month published already (409)."""
    if period.kind != "month":
        raise DomainError(_("Only a month's ranking is published."), code="month")
    now = timezone.now()
    if period.end > now:
        raise DomainError(_("The month %(month)s has not ended: its ranking can be published from %(day)s.")
                          % {"month": period.key, "day": period.end.date().isoformat()}, code="not_ended")
    existing = (RankingPublication.objects.filter(subdistrict=subdistrict, month=period.first_day)
                .select_related("published_by").first())
    if existing is not None:
        raise _already(existing, period)
    board = ranking_board(subdistrict=subdistrict, period=period, with_outcomes=True)
    try:
        with transaction.atomic():
            return RankingPublication.objects.create(
                subdistrict=subdistrict, month=period.first_day, published_at=now, published_by=actor,
                formula=FORMULA, board=board.as_dict(), outcomes=board.outcomes)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if constraint != "ranking_publication_once_per_month":
            raise
        existing = RankingPublication.objects.select_related("published_by").get(
            subdistrict=subdistrict, month=period.first_day)
        raise _already(existing, period) from None
