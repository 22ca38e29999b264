"""Read queries of the `geo` app. Every list is scoped to one sub-district (the tenant key).

Each function returns a queryset that is evaluated in a constant number of queries: related rows
the map layers print come through `select_related`, label points are computed in the database.
"""

from datetime import datetime

from django.contrib.gis.db.models.functions import PointOnSurface
from django.contrib.gis.geos import Polygon
from django.db.models import QuerySet
from django.utils import timezone

from geo.models import Address, BoundaryVersion, Community, Grid, Place, Road, Subdistrict, Water


def subdistrict_get(*, code: str | None = None) -> Subdistrict | None:
    """The sub-district with `code`, or without a code the first one by code (a deployment for
    one sub-district needs no parameter). None when there is no such sub-district."""
    # The boundary is left out: callers want the tenant, and a city's boundary is large.
    queryset = Subdistrict.objects.defer("boundary").order_by("code")
    if code:
        return queryset.filter(code=code).first()
    return queryset.first()


def subdistrict_list(*, code: str | None = None) -> QuerySet[Subdistrict]:
    """All sub-districts, or only the one with `code`."""
    queryset = Subdistrict.objects.order_by("code")
    return queryset.filter(code=code) if code else queryset


def community_list(*, subdistrict: Subdistrict) -> QuerySet[Community]:
    """Communities of a sub-district, each with a `label_point` inside its boundary."""
    return Community.objects.filter(subdistrict=subdistrict).annotate(label_point=PointOnSurface("boundary"))


def boundary_versions_in_force_first(
    *, subdistrict: Subdistrict | int, at: datetime | None = None
) -> QuerySet[BoundaryVersion]:
    """The published grid versions that took effect by `at` (default now), the one in force first
    (a queryset: `.first()`, or `.values("pk")[:1]` as a subquery)."""
    at = at or timezone.now()
    return BoundaryVersion.objects.filter(
        subdistrict=subdistrict, status=BoundaryVersion.Status.PUBLISHED, effective_from__lte=at
    ).order_by("-effective_from", "-number")


def boundary_version_in_force(
    *, subdistrict: Subdistrict | int, at: datetime | None = None
) -> BoundaryVersion | None:
    """The published grid version in force at `at` (default now): the one with the latest
    effective time not after it."""
    return boundary_versions_in_force_first(subdistrict=subdistrict, at=at).first()


def boundary_version_get(*, subdistrict: Subdistrict, number: int) -> BoundaryVersion | None:
    """Version `number` of the sub-district's grids, draft or published."""
    return BoundaryVersion.objects.filter(subdistrict=subdistrict, number=number).first()


def grid_list(*, version: BoundaryVersion | None) -> QuerySet[Grid]:
    """The grids of one version with their community and a `label_point` inside each grid;
    none without a version (a sub-district with no version in force yet)."""
    if version is None:
        return Grid.objects.none()
    return (
        Grid.objects.filter(version=version)
        .select_related("community", "version")
        .annotate(label_point=PointOnSurface("boundary"))
        .order_by("code")
    )


def road_list(*, subdistrict: Subdistrict) -> QuerySet[Road]:
    """Road segments of a sub-district (the page draws them by class, so order is only stable)."""
    return Road.objects.filter(subdistrict=subdistrict).order_by("id")


def water_list(*, subdistrict: Subdistrict) -> QuerySet[Water]:
    return Water.objects.filter(subdistrict=subdistrict).order_by("id")


def place_list(*, subdistrict: Subdistrict, with_contact: bool = False) -> QuerySet[Place]:
    """Places of a sub-district; `with_contact` joins the contact member (staff roles only)."""
    queryset = Place.objects.filter(subdistrict=subdistrict).order_by("kind", "name")
    if with_contact:
        queryset = queryset.select_related("contact")
    return queryset


# The most addresses one request draws: the page asks only from zoom 16 on (a few hundred metres
# across); a box holding more is cut at this many, in a stable order, and the answer says so.
ADDRESS_LIMIT = 2000


def address_list(*, subdistrict: Subdistrict, bbox: tuple[float, float, float, float]) -> QuerySet[Address]:
    """Addresses of a sub-district inside `bbox` (west, south, east, north in EPSG:4326 degrees),
    ordered by text then id (stable, so that a cut at the limit is always the same rows). The box
    test is `location && box` (`bboverlaps`): the point column's GiST index answers it."""
    west, south, east, north = bbox
    box = Polygon.from_bbox((west, south, east, north))
    box.srid = 4326
    return (
        Address.objects.filter(subdistrict=subdistrict, location__bboverlaps=box)
        .only("id", "text", "location")
        .order_by("text", "id")
    )
