"""The planners' reads: versions, a draft's grids and editors, who serves which grid. Every read is
scoped to one sub-district (the tenant key) and runs in a constant number of queries."""

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from dispatch.models import Force, Member, MemberGrid, Role
from geo.models import BoundaryVersion, DraftEditor, DraftGrid, DraftSave, Grid, Subdistrict
from geo.selectors import boundary_version_in_force

# An editor is "editing" while their page reported within this (it reports every 15 s).
PRESENCE_WINDOW = timedelta(seconds=45)


def version_list(*, subdistrict: Subdistrict) -> QuerySet[BoundaryVersion]:
    """The sub-district's versions, newest first, each with `grid_count` (its grids once published,
    its draft's while a draft) and who created it."""
    return (BoundaryVersion.objects.filter(subdistrict=subdistrict)
            .select_related("based_on", "created_by")
            .annotate(published_grids=Count("grids", distinct=True), draft_count=Count("draft_grids", distinct=True))
            .order_by("-number"))


def version_get(*, subdistrict: Subdistrict, number: int) -> BoundaryVersion | None:
    return BoundaryVersion.objects.filter(subdistrict=subdistrict, number=number).first()


def draft_grid_list(*, version: BoundaryVersion, ids: Iterable[int] | None = None) -> QuerySet[DraftGrid]:
    queryset = DraftGrid.objects.filter(version=version).select_related("community").order_by("code")
    return queryset.filter(pk__in=ids) if ids is not None else queryset


def draft_editors(*, version: BoundaryVersion) -> list[DraftEditor]:
    """Who has the draft open now (seen within PRESENCE_WINDOW), most recent first."""
    since = timezone.now() - PRESENCE_WINDOW
    return list(DraftEditor.objects.filter(version=version, last_seen__gte=since).select_related("user")
                .order_by("-last_seen"))


def draft_last_save(*, version: BoundaryVersion) -> DraftSave | None:
    return DraftSave.objects.filter(version=version).select_related("user").order_by("-revision").first()


def assignment_list(*, subdistrict: Subdistrict) -> tuple[BoundaryVersion | None, list[Member]]:
    """The version in force and the members who serve its grids or may: grid workers and grid
    leaders (by force or role) and anyone linked to one of its grids, each with `version_grids`
    (the grids of that version they serve, by code)."""
    version = boundary_version_in_force(subdistrict=subdistrict)
    grids = Grid.objects.filter(version=version).only("id", "code", "name").order_by("code")
    linked = MemberGrid.objects.filter(member=OuterRef("pk"), grid__version=version)
    members = (Member.objects.filter(subdistrict=subdistrict, active=True)
               .filter(Q(force__in=[Force.GRID_WORKER, Force.GRID_LEADER]) | Q(roles__contains=[Role.GRID_LEADER])
                       | Exists(linked))
               .select_related("unit")
               .prefetch_related(Prefetch("grids", queryset=grids, to_attr="version_grids"))
               .order_by("force", "code"))
    return version, list(members)
