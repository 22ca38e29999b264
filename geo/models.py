"""Where: the sub-district (the tenant), its communities, versioned grids, places, roads and the
address gazetteer.

Every geometry is stored in EPSG:4326 (WGS 84, degrees) and carries a GiST index; distances and
areas in metres come from `geography` or from EPSG:4549, never from degrees.

Grid versions (after MapIt's generations): grids are never edited in place. A planner's redrawn
set of grids is a new BoundaryVersion, loaded as a draft and then published with an effective
time; the version in force at an instant is the published one with the latest effective time not
after it. Incidents keep the grid they fell in when they were taken, so history stays true after
boundaries move.
"""

from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GinIndex
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from audit.tracking import track_changes


class Subdistrict(models.Model):
    """A sub-district (街道), the tenant key. Boundary: MultiPolygon, EPSG:4326."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    district = models.CharField(_("district"), max_length=64, blank=True)
    city = models.CharField(_("city"), max_length=64, blank=True)
    boundary = models.MultiPolygonField(_("boundary"), srid=4326)

    class Meta:
        verbose_name = _("sub-district")
        verbose_name_plural = _("sub-districts")
        constraints = [
            models.CheckConstraint(condition=Q(boundary__isvalid=True), name="subdistrict_boundary_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class Community(models.Model):
    """A village or residential community (村/社区). Boundary: MultiPolygon, EPSG:4326.

    The database refuses a community that is not covered by its sub-district (trigger in
    migration 0002)."""

    class Kind(models.TextChoices):
        VILLAGE = "village", _("village")
        COMMUNITY = "community", _("community")

    subdistrict = models.ForeignKey(Subdistrict, on_delete=models.PROTECT, related_name="communities")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    boundary = models.MultiPolygonField(_("boundary"), srid=4326)

    class Meta:
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["subdistrict", "code"], name="community_code_unique"),
            models.CheckConstraint(condition=Q(boundary__isvalid=True), name="community_boundary_valid"),
        ]

    def __str__(self) -> str:
        return self.name


@track_changes()
class BoundaryVersion(models.Model):
    """A set of grid boundaries of one sub-district: a draft until published with an effective time."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    subdistrict = models.ForeignKey(Subdistrict, on_delete=models.PROTECT, related_name="boundary_versions")
    number = models.PositiveIntegerField(_("version number"))
    label = models.CharField(_("label"), max_length=128, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    effective_from = models.DateTimeField(_("effective from"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("grid boundary version")
        verbose_name_plural = _("grid boundary versions")
        ordering = ["subdistrict", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["subdistrict", "number"], name="boundary_version_number_unique"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(effective_from__isnull=False, published_at__isnull=False),
                name="boundary_version_published_has_times",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subdistrict} v{self.number}"


@track_changes()
class Grid(models.Model):
    """A grid (网格) of one boundary version. Boundary: MultiPolygon, EPSG:4326.

    The database refuses a grid that is not covered by its sub-district (trigger in migration 0002).
    Grids of one version tile the sub-district; the generator and the planner check that."""

    version = models.ForeignKey(BoundaryVersion, on_delete=models.PROTECT, related_name="grids")
    subdistrict = models.ForeignKey(Subdistrict, on_delete=models.PROTECT, related_name="grids")
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="grids")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=64)
    boundary = models.MultiPolygonField(_("boundary"), srid=4326)

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="grid_code_unique_in_version"),
            models.CheckConstraint(condition=Q(boundary__isvalid=True), name="grid_boundary_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Water(models.Model):
    """A river or lake surface, drawn on the basemap. Area: MultiPolygon, EPSG:4326."""

    subdistrict = models.ForeignKey(Subdistrict, on_delete=models.PROTECT, related_name="waters")
    name = models.CharField(_("name"), max_length=64)
    area = models.MultiPolygonField(_("area"), srid=4326)

    class Meta:
        verbose_name = _("water body")
        verbose_name_plural = _("water bodies")

    def __str__(self) -> str:
        return self.name


class Road(models.Model):
    """One edge of the road network between two junctions. Line: LineString, EPSG:4326.

    `source` and `target` are junction ids for pgRouting; `length_m` is the geodesic length in
    metres. A one-way edge is travelled from source to target only."""

    class RoadClass(models.TextChoices):
        ARTERIAL = "arterial", _("arterial road")
        SECONDARY = "secondary", _("secondary road")
        LOCAL = "local", _("local street")
        PATH = "path", _("path")

    subdistrict = models.ForeignKey(Subdistrict, on_delete=models.PROTECT, related_name="roads")
    name = models.CharField(_("name"), max_length=64)
    road_class = models.CharField(_("road class"), max_length=16, choices=RoadClass.choices)
    one_way = models.BooleanField(_("one-way"), default=False)
    is_bridge = models.BooleanField(_("bridge"), default=False)
    speed_kmh = models.PositiveSmallIntegerField(_("speed limit (km/h)"))
    source = models.BigIntegerField(_("source junction"))
    target = models.BigIntegerField(_("target junction"))
    length_m = models.FloatField(_("length (m)"))
    line = models.LineStringField(_("line"), srid=4326)

    class Meta:
        verbose_name = _("road segment")
        verbose_name_plural = _("road segments")
        indexes = [models.Index(fields=["source"]), models.Index(fields=["target"])]
        constraints = [
            models.CheckConstraint(condition=Q(speed_kmh__gt=0), name="road_speed_positive"),
            models.CheckConstraint(condition=Q(length_m__gt=0), name="road_length_positive"),
            models.CheckConstraint(condition=~Q(source=models.F("target")), name="road_not_a_loop"),
        ]

    def __str__(self) -> str:
        return self.name


class Place(models.Model):
    """A place that matters to dispatch: a residential complex, a construction site, an enterprise,
    a business-park building, a school, a market... Location: Point, EPSG:4326; footprint:
    Polygon, EPSG:4326, when known."""

    class Kind(models.TextChoices):
        RESIDENTIAL_COMPLEX = "residential_complex", _("residential complex")
        CONSTRUCTION_SITE = "construction_site", _("construction site")
        ENTERPRISE = "enterprise", _("enterprise")
        PARK_BUILDING = "park_building", _("business-park building")
        SCHOOL = "school", _("school")
        MARKET = "market", _("market")
        OTHER = "other", _("other")

    subdistrict = models.ForeignKey(Subdistrict, on_delete=models.PROTECT, related_name="places")
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=128)
    address = models.CharField(_("address"), max_length=256, blank=True)
    location = models.PointField(_("location"), srid=4326)
    footprint = models.PolygonField(_("footprint"), srid=4326, null=True, blank=True)
    contact = models.ForeignKey(
        "dispatch.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="places",
        verbose_name=_("contact"),
    )

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["subdistrict", "name"], name="place_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Address(models.Model):
    """A gazetteer entry: a Chinese address text ("良睦路1288号", "某某花园3幢") and its point.
    Location: Point, EPSG:4326."""

    subdistrict = models.ForeignKey(Subdistrict, on_delete=models.PROTECT, related_name="addresses")
    text = models.CharField(_("address"), max_length=256)
    road = models.ForeignKey(Road, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    place = models.ForeignKey(Place, on_delete=models.CASCADE, null=True, blank=True, related_name="addresses")
    location = models.PointField(_("location"), srid=4326)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["text"]
        constraints = [
            models.UniqueConstraint(fields=["subdistrict", "text"], name="address_text_unique"),
        ]
        indexes = [GinIndex(fields=["text"], opclasses=["gin_trgm_ops"], name="address_text_trgm")]

    def __str__(self) -> str:
        return self.text
