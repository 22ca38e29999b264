"""Read queries of the `dispatch` app, scoped to one sub-district."""

from datetime import datetime

from django.contrib.gis.db.models import PointField
from django.db.models import Exists, F, OuterRef, Prefetch, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from dispatch.models import DutyShift, Member
from geo.models import BoundaryVersion, Grid, Subdistrict


def on_duty_at(at: datetime) -> Exists:
    """An expression for "the member has a shift covering `at`" (shifts are half-open: ends_at excluded)."""
    return Exists(DutyShift.objects.filter(member=OuterRef("pk"), starts_at__lte=at, ends_at__gt=at))


def member_map_list(
    *,
    subdistrict: Subdistrict,
    grid_version: BoundaryVersion | None,
    at: datetime | None = None,
    only_user=None,
) -> QuerySet[Member]:
    """Active members of a sub-district as map points, in three queries whatever their number.

    Each member carries `map_point` (the last known position, else home; EPSG:4326),
    `position_recorded_at` (None when the point is home), `on_duty` (a shift covers `at`, default
    now) and `map_grids`: the grids they serve in `grid_version` (the version in force; none
    without one). With `only_user`, only the member linked to that user (a responder's own view).
    """
    at = at or timezone.now()
    grids = Grid.objects.filter(version=grid_version) if grid_version else Grid.objects.none()
    queryset = (
        Member.objects.filter(subdistrict=subdistrict, active=True)
        .select_related("unit")
        .annotate(
            map_point=Coalesce("position__point", "home", output_field=PointField(srid=4326)),
            position_recorded_at=F("position__recorded_at"),
            on_duty=on_duty_at(at),
        )
        .prefetch_related(
            Prefetch("grids", queryset=grids.only("id", "code").order_by("code"), to_attr="map_grids")
        )
        .order_by("code")
    )
    if only_user is not None:
        queryset = queryset.filter(user=only_user) if only_user.is_authenticated else queryset.none()
    return queryset
