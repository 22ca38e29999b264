"""Writes of "where": publishing a grid version (see the block comment of geo/models.py).

A draft version is loaded (its grids may be edited while it is a draft); publishing makes it the
version in force from its effective time on. A published version is never edited again: a new
boundary is a new draft. The admin's "publish" action calls this, and nothing else writes the
status of a version.
"""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import DomainError, Forbidden, TransitionRefused
from config.roles import UserRole, has_role
from geo.models import BoundaryVersion

PUBLISH_ROLES = (UserRole.PLANNER, UserRole.COMMAND_ROOM)
# Clock skew allowed on "from now": an effective time earlier than this would rewrite the past.
EFFECTIVE_SKEW = timedelta(minutes=5)
# Uncovered or doubly covered area of the sub-district that a version may have (a share of its
# area): the slivers of digitised boundaries, not a missing grid.
TILING_TOLERANCE = 0.001


def grid_version_tiling(version_id: int) -> tuple[int, float, float]:
    """(grids, uncovered share, overlapping share) of a version's grids over its sub-district, in
    square metres on the spheroid (geography)."""
    with connection.cursor() as cur:
        cur.execute(
            """
            WITH g AS (
              SELECT count(*) AS n, ST_Union(boundary) AS u, sum(ST_Area(boundary::geography)) AS summed
              FROM geo_grid WHERE version_id = %s
            )
            SELECT g.n,
                   COALESCE(ST_Area(ST_Difference(s.boundary, g.u)::geography), ST_Area(s.boundary::geography))
                     / ST_Area(s.boundary::geography),
                   COALESCE(g.summed - ST_Area(g.u::geography), 0) / ST_Area(s.boundary::geography)
            FROM geo_boundaryversion v JOIN geo_subdistrict s ON s.id = v.subdistrict_id, g
            WHERE v.id = %s
            """,
            [version_id, version_id],
        )
        n, uncovered, overlapping = cur.fetchone()
    return int(n), float(uncovered), float(overlapping)


def grid_version_publish(*, version_id: int, effective_from: datetime, actor) -> BoundaryVersion:
    """Publish a draft version from `effective_from` (not in the past: cases already taken keep
    their grids, and the version in force at a past instant stays what it was). 403 for roles other
    than the planner's and the command room's; 409 for a version published already; 400 for an
    effective time in the past, or grids that do not tile the sub-district."""
    if actor is None or not has_role(actor, *PUBLISH_ROLES):
        raise Forbidden(_("Only a planner or the command room publishes grid boundaries."))
    now = timezone.now()
    if effective_from < now - EFFECTIVE_SKEW:
        raise DomainError(_("A grid version takes effect from now on, never in the past."), code="effective_from")
    with transaction.atomic():
        version = BoundaryVersion.objects.select_for_update(of=("self",)).filter(pk=version_id).first()
        if version is None:
            raise DomainError(_("No such grid version."), code="not_found", http_status=404)
        if version.status != BoundaryVersion.Status.DRAFT:
            raise TransitionRefused(_("This grid version is published already: draw a new version instead."))
        n, uncovered, overlapping = grid_version_tiling(version.pk)
        if n == 0:
            raise DomainError(_("This grid version has no grids."), code="grids")
        if uncovered > TILING_TOLERANCE or overlapping > TILING_TOLERANCE:
            raise DomainError(_("The grids do not tile the sub-district: %(uncovered).1f %% uncovered, "
                                "%(overlapping).1f %% covered twice.")
                              % {"uncovered": uncovered * 100, "overlapping": overlapping * 100}, code="grids")
        version.status, version.effective_from, version.published_at = (
            BoundaryVersion.Status.PUBLISHED, effective_from, now)
        version.save(update_fields=["status", "effective_from", "published_at"])
    return version
