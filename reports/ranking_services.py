"""Publishing a month's ranking (发布): the board is computed once and frozen.

`ranking_publish` computes the month's board (reports/ranking.py) and stores it as a
`RankingPublication`, with each counted order's outcome read in the same statement (so that the
page can later say how many orders count differently now, without recomputing the board). Only a
month that has ended is published (400 before), and only once (409: the unique constraint is the
last word when two publish at once); the database refuses any later change of the row (trigger).

Publishing is the announcement (通报): in the same transaction every ranked grid leader gets one
message (`dispatch.notify.messages_bulk`, kind `ranking`: on their phone at once, by SMS after the
grace unless read) with their rank, score and rates, the rotating red flag or the black list with
its cause. A leader without orders in the month is not ranked and not told. The publication's
unique month makes the messages once.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from config.errors import DomainError, TransitionRefused
from dispatch.models import Member, MemberMessage
from dispatch.notify import messages_bulk
from geo.models import Subdistrict
from reports.models import RankingPublication
from reports.periods import Period
from reports.ranking import FORMULA, RankingBoard, cause_text, percent, ranking_board, user_name


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
            publication = RankingPublication.objects.create(
                subdistrict=subdistrict, month=period.first_day, published_at=now, published_by=actor,
                formula=FORMULA, board=board.as_dict(), outcomes=board.outcomes)
            messages_bulk(ranking_texts(board), kind=MemberMessage.Kind.RANKING, at=now)
            return publication
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if constraint != "ranking_publication_once_per_month":
            raise
        existing = RankingPublication.objects.select_related("published_by").get(
            subdistrict=subdistrict, month=period.first_day)
        raise _already(existing, period) from None


def ranking_texts(board: RankingBoard) -> list[tuple[Member, str, str]]:
    """Each ranked grid leader's message (in the active language): rank of how many, score and rates,
    the change against the month before, and the red flag or the black list with its cause."""
    rows = [row for row in board.leaders.rows if row.rank is not None and row.id is not None]
    members = Member.objects.in_bulk([row.id for row in rows])
    flagged = {row.id for row in board.red_flag}
    black = {row.id: cause for row, cause in board.black_list}
    ranked = len(rows)
    texts = []
    for row in rows:
        member = members.get(row.id)
        if member is None:
            continue
        title = _("Ranking %(month)s: No. %(rank)s of %(ranked)s, score %(score)s") % {
            "month": board.period.key, "rank": row.rank, "ranked": ranked, "score": row.score}
        parts = [_("Orders %(orders)s; arrival %(arrival)s, timeliness %(timeliness)s, disposal %(disposal)s.") % {
            "orders": row.dispatched, "arrival": percent(row.arrival_rate),
            "timeliness": percent(row.timeliness_rate), "disposal": percent(row.disposal_rate)}]
        if row.rank_change is not None:
            parts.append(_("Rank change against last month: %(change)+d.") % {"change": row.rank_change})
        if row.id in flagged:
            parts.append(_("You hold the rotating red flag this month."))
        if row.id in black:
            parts.append(_("On the black list: %(cause)s") % {"cause": cause_text(black[row.id])})
        texts.append((member, title, " ".join(parts)))
    return texts
