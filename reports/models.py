"""The governance records (工作保障): what the reports freeze or follow up.

Everything else a report shows is computed from what the system already records (incidents, their
orders, hand-overs, call-backs); only two things are records of their own:

- `RankingPublication`: a month's ranking as the command room published it (流动红旗, 红黑榜). The
  rows are stored as published and never recomputed: a late order or a corrected arrival after
  publication does not silently change a published rank (the database refuses changes: trigger).
- `Interview` (约谈): an accountability interview with a unit or a village/community, its findings
  and a rectification deadline; once the deadline passes unrectified, one alarm is raised.
"""

import pgtrigger
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RankingPublication(models.Model):
    """One month's ranking of one sub-district as published (frozen)."""

    subdistrict = models.ForeignKey("geo.Subdistrict", on_delete=models.PROTECT, related_name="+")
    month = models.DateField(_("month"), help_text=_("The first day of the month ranked."))
    published_at = models.DateTimeField(_("published at"))
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", verbose_name=_("published by"))
    formula = models.CharField(_("score formula"), max_length=200)
    # Every table of the ranking page as published (leaders, communities, units, departments, the
    # red and black list, the red flag), in the API's shape.
    board = models.JSONField(_("ranking as published"), encoder=DjangoJSONEncoder)
    # Each order counted in the month with its outcome bits (reports/ranking.py: arrived 1, with a
    # deadline 2, in time 4, disposed 8), read in the same statement as the board: the page compares
    # them with the orders as they stand to say how many changed since, without recomputing the board.
    outcomes = models.JSONField(_("orders counted, as published"), default=dict, blank=True)

    class Meta:
        verbose_name = _("published monthly ranking")
        verbose_name_plural = _("published monthly rankings")
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["subdistrict", "month"], name="ranking_publication_once_per_month"),
        ]
        triggers = [
            pgtrigger.Protect(name="ranking_publication_frozen", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.subdistrict_id} {self.month:%Y-%m}"


class Interview(models.Model):
    """An accountability interview (约谈) of a unit or a village/community that fell short, with a
    deadline to rectify (reports/interviews.py writes and reads it).

    Lifecycle: recorded open (`interview_record`: the deadline in the future), then rectified once
    (`interview_rectify`: the rectification's report and time). Its state on a page is one of open,
    overdue (open and past its deadline: derived, never stored) and rectified. `overdue_alarmed_at`
    is set once, when the deadline passed unrectified and the alarm was raised (exactly once: the
    governance clock claims the row with a conditional update, `overdue_alarmed_at IS NULL`, and
    writes its messages in the same transaction); `overdue_notified` names whom it told."""

    class State(models.TextChoices):
        OPEN = "open", _("awaiting rectification")
        RECTIFIED = "rectified", _("rectified")

    subdistrict = models.ForeignKey("geo.Subdistrict", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("dispatch.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("unit"))
    community = models.ForeignKey("geo.Community", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("village/community"))
    held_at = models.DateTimeField(_("held at"))
    reason = models.CharField(_("reason"), max_length=200)
    findings = models.TextField(_("findings"), max_length=4000)
    requirements = models.TextField(_("rectification required"), max_length=4000)
    deadline = models.DateTimeField(_("rectify by"), db_index=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN)
    rectified_at = models.DateTimeField(_("rectified at"), null=True, blank=True)
    rectification_note = models.TextField(_("rectification report"), max_length=4000, blank=True)
    rectified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", verbose_name=_("rectification recorded by"))
    overdue_alarmed_at = models.DateTimeField(_("overdue alarm raised at"), null=True, blank=True)
    # Whom the overdue alarm reached: {"told": [{"id", "name"}], "skipped": [...]} — the responsible
    # side's leaders and the command room on duty, and those off duty (the command room phones them).
    overdue_notified = models.JSONField(_("overdue alarm told"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("recorded by"))

    class Meta:
        verbose_name = _("accountability interview")
        verbose_name_plural = _("accountability interviews")
        ordering = ["-held_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(unit__isnull=False) ^ Q(community__isnull=False),
                                   name="interview_of_a_unit_or_a_community"),
            models.CheckConstraint(condition=~Q(state="rectified") | Q(rectified_at__isnull=False),
                                   name="interview_rectified_has_time"),
            models.CheckConstraint(condition=~Q(state="rectified") | ~Q(rectification_note=""),
                                   name="interview_rectified_has_report"),
            models.CheckConstraint(condition=Q(deadline__gt=models.F("held_at")),
                                   name="interview_deadline_after_held"),
        ]
        indexes = [
            models.Index(fields=["deadline"], name="interview_open_deadline", condition=Q(state="open")),
            # The agenda and the list: a sub-district's interviews, newest first.
            models.Index(fields=["subdistrict", "held_at"], name="interview_subdistrict_held"),
        ]

    def __str__(self) -> str:
        return f"{self.subdistrict_id} {self.held_at:%Y-%m-%d} {self.reason}"
