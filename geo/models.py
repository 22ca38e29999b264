"""Where: the sub-district (the tenant), its communities, versioned grids, places, roads and the
address gazetteer.

Every geometry is stored in EPSG:4326 (WGS 84, degrees) and carries a GiST index; distances and
areas in metres come from `geography` or from EPSG:4549, never from degrees.

Grid versions (after MapIt's generations): grids are never edited in place. A planner's redrawn
set of grids is a new BoundaryVersion, loaded as a draft and then published with an effective
time; the version in force at an instant is the published one with the latest effective time not
after it. Incidents keep the grid they fell in when they were taken, so history stays true after
boundaries move.

A draft holds its grids as DraftGrid rows, which may be broken while the planner works (no validity
constraint: validation says where each problem is); every save bumps the draft's `revision`, so a
save based on an older revision is refused with what changed since (DraftSave, the draft's log).
Publishing (`planner.services.grid_version_publish`) refuses a draft with problems, copies its
DraftGrids into Grid rows and makes the version published. From then on the database refuses to
change or delete the version or its Grid rows (triggers `published_immutable` below); inserting
rows stays possible, which is how publishing and the loaders write a version.
"""

import pgtrigger
from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GinIndex
from django.db.models import Deferrable, Q
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


# The draft's revision is left out of the trail: the draft's own log (DraftSave) records each save.
@track_changes(exclude=["revision"])
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
    # A draft's edit counter: every save bumps it, and a save names the revision it was based on.
    revision = models.PositiveIntegerField(_("revision"), default=0)
    based_on = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                 verbose_name=_("based on"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))

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
            # Two published versions of a sub-district never take effect at the same instant: which
            # one is in force would be undecided (publishing also takes the sub-district's lock).
            models.UniqueConstraint(fields=["subdistrict", "effective_from"], condition=Q(status="published"),
                                    name="boundary_version_effective_unique"),
        ]
        triggers = [
            # A published version is never changed or removed: a new boundary is a new draft. The one
            # change let through is the database's own ON DELETE SET NULL: the user who created it or
            # the version it was copied from deleted (created_by / based_on set to NULL, nothing else).
            pgtrigger.Trigger(
                name="published_immutable", level=pgtrigger.Row, when=pgtrigger.Before,
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition=pgtrigger.Condition("OLD.status = 'published'"),
                func="IF TG_OP = 'UPDATE' "
                     "AND to_jsonb(NEW) - 'created_by_id' - 'based_on_id' = to_jsonb(OLD) - 'created_by_id' - 'based_on_id' "
                     "AND (NEW.created_by_id IS NULL OR NEW.created_by_id = OLD.created_by_id) "
                     "AND (NEW.based_on_id IS NULL OR NEW.based_on_id = OLD.based_on_id) THEN RETURN NEW; END IF; "
                     "RAISE EXCEPTION 'grid version % is published: it cannot be changed', OLD.number "
                     "USING ERRCODE = 'check_violation', CONSTRAINT = 'boundary_version_published_immutable';",
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
        triggers = [
            # The grids of a published version are never changed or removed (a subquery cannot be a
            # trigger's WHEN condition, so the function looks the version up).
            pgtrigger.Trigger(
                name="published_immutable", level=pgtrigger.Row, when=pgtrigger.Before,
                operation=pgtrigger.Update | pgtrigger.Delete,
                func="IF EXISTS (SELECT 1 FROM geo_boundaryversion v WHERE v.id = OLD.version_id "
                     "AND v.status = 'published') THEN "
                     "RAISE EXCEPTION 'grid % belongs to a published version: it cannot be changed', OLD.code "
                     "USING ERRCODE = 'check_violation', CONSTRAINT = 'grid_published_immutable'; END IF; "
                     "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW;",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class DraftGrid(models.Model):
    """A grid as a draft version holds it, while planners edit. Boundary: MultiPolygon, EPSG:4326,
    possibly invalid (no constraint: validation reports where). Publishing copies these rows into
    Grid rows and deletes them."""

    version = models.ForeignKey(BoundaryVersion, on_delete=models.CASCADE, related_name="draft_grids")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=64)
    community = models.ForeignKey(Community, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    boundary = models.MultiPolygonField(_("boundary"), srid=4326)

    class Meta:
        verbose_name = _("draft grid")
        verbose_name_plural = _("draft grids")
        ordering = ["code"]
        constraints = [
            # Deferred: one save may swap two grids' codes.
            models.UniqueConstraint(fields=["version", "code"], name="draft_grid_code_unique",
                                    deferrable=Deferrable.DEFERRED),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class DraftSave(models.Model):
    """One save of a draft: the revision it produced, who, when and what (`summary`: {"op":
    save/split/merge/import/start, "changed", "added", "deleted": [codes]}). A save refused as stale
    is answered with the saves since its base revision."""

    version = models.ForeignKey(BoundaryVersion, on_delete=models.CASCADE, related_name="saves")
    revision = models.PositiveIntegerField(_("revision"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    at = models.DateTimeField(_("saved at"), auto_now_add=True)
    summary = models.JSONField(_("summary"), default=dict)

    class Meta:
        verbose_name = _("draft save")
        verbose_name_plural = _("draft saves")
        ordering = ["version", "revision"]
        indexes = [models.Index(fields=["version", "revision"])]

    def __str__(self) -> str:
        return f"{self.version} r{self.revision}"


class DraftEditor(models.Model):
    """A planner who has the draft open: the page reports every 15 s (presence)."""

    version = models.ForeignKey(BoundaryVersion, on_delete=models.CASCADE, related_name="editors")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_seen = models.DateTimeField(_("last seen"))

    class Meta:
        verbose_name = _("draft editor")
        verbose_name_plural = _("draft editors")
        constraints = [models.UniqueConstraint(fields=["version", "user"], name="draft_editor_unique")]

    def __str__(self) -> str:
        return f"{self.version} {self.user_id}"


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


@track_changes()
class Tenancy(models.Model):
    """Where a user works: one sub-district (a command room's staff), or every sub-district of a
    district (the district centre: `district` names it as Subdistrict.district does). A user sees
    and acts on these sub-districts only (geo/tenancy.py); a user linked to a member of the forces
    also works in the member's own sub-district without a row here."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tenancies",
                             verbose_name=_("user"))
    subdistrict = models.ForeignKey(Subdistrict, on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="tenancies", verbose_name=_("sub-district"))
    district = models.CharField(_("whole district"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("tenancy")
        verbose_name_plural = _("tenancies")
        constraints = [
            models.CheckConstraint(
                condition=(Q(subdistrict__isnull=False) & Q(district="")) | (Q(subdistrict__isnull=True) & ~Q(district="")),
                name="tenancy_one_scope"),
            models.UniqueConstraint(fields=["user", "subdistrict"], condition=Q(subdistrict__isnull=False),
                                    name="tenancy_user_subdistrict"),
            models.UniqueConstraint(fields=["user", "district"], condition=~Q(district=""),
                                    name="tenancy_user_district"),
        ]

    def __str__(self) -> str:
        return self.district or str(self.subdistrict)
