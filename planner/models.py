"""The planner's own records: choices made on a draft grid version that are not grids.

The grids of a draft are `geo.DraftGrid` rows (they belong to "where"); who serves which grid is
dispatch's `Member.grids`. Between the two, while a version is a draft, the planner may overrule
`geo.lineage`'s proposal of a member's grid in the new version: a DraftStaffMove. Publishing
applies the proposals and these overrides, and deletes them with the draft's grids.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DraftStaffMove(models.Model):
    """The planner's choice of one member's grid in a draft version: `draft_grid`, or none (null)."""

    version = models.ForeignKey("geo.BoundaryVersion", on_delete=models.CASCADE, related_name="staff_moves")
    member = models.ForeignKey("dispatch.Member", on_delete=models.CASCADE, related_name="+")
    # Deleting the grid (a merge, a save) drops the choice: the proposal applies again.
    draft_grid = models.ForeignKey("geo.DraftGrid", on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="+")
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+")
    at = models.DateTimeField(_("set at"), auto_now=True)

    class Meta:
        verbose_name = _("staff move in a draft")
        verbose_name_plural = _("staff moves in drafts")
        constraints = [models.UniqueConstraint(fields=["version", "member"], name="draft_staff_move_unique")]

    def __str__(self) -> str:
        return f"{self.member_id} → {self.draft_grid_id or '-'} (v{self.version_id})"
