"""The planners' API shapes: inputs checked here (types, ranges), outputs declared for the document.
Geometries are GeoJSON in EPSG:4326 (lon, lat), as stored (not rounded: see `geojson`)."""

import json

import shapely
import shapely.geometry
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from shapely.geometry.base import BaseGeometry

from planner.services import DraftChange

MAX_ID = 2**63 - 1

GEOMETRY_SCHEMA = {"type": "object", "description": "A GeoJSON geometry (lon, lat).",
                   "properties": {"type": {"type": "string"}, "coordinates": {"type": "array", "items": {}}},
                   "required": ["type"]}
FEATURE_COLLECTION_SCHEMA = {
    "type": "object",
    "description": "A GeoJSON FeatureCollection (lon, lat).",
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": {
            "type": "object",
            "properties": {"type": {"type": "string", "enum": ["Feature"]},
                           "id": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                           "geometry": {**GEOMETRY_SCHEMA, "nullable": True},
                           "properties": {"type": "object"}},
            "required": ["type", "geometry", "properties"]}},
    },
    "required": ["type", "features"],
}


def geojson(geometry) -> dict | None:
    """A GEOS or shapely geometry as a GeoJSON dict, coordinates as stored (a draft's shared vertices
    must come back exactly as they went, or neighbours would stop matching)."""
    if geometry is None:
        return None
    if not isinstance(geometry, BaseGeometry):
        geometry = shapely.from_wkb(bytes(geometry.wkb))
    return json.loads(json.dumps(shapely.geometry.mapping(geometry)))


def feature_collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def grid_feature(grid) -> dict:
    """A DraftGrid (with its community) as a Feature."""
    return {"type": "Feature", "id": grid.pk, "geometry": geojson(grid.boundary),
            "properties": {"id": grid.pk, "code": grid.code, "name": grid.name, "community": grid.community_id,
                           "community_name": grid.community.name if grid.community_id else None}}


@extend_schema_field(FEATURE_COLLECTION_SCHEMA)
class FeatureCollectionField(serializers.JSONField):
    pass


@extend_schema_field({**GEOMETRY_SCHEMA, "nullable": True})
class GeometryOutField(serializers.JSONField):
    pass


@extend_schema_field(GEOMETRY_SCHEMA)
class GeometryInField(GeometryField):
    """A GeoJSON geometry in (lon, lat), as GEOS with SRID 4326."""


class IdField(serializers.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


# --- versions ------------------------------------------------------------------------------------

class VersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    label = serializers.CharField(allow_blank=True)  # type: ignore[assignment]  # a field named like a Field attribute
    status = serializers.CharField()
    status_display = serializers.CharField()
    effective_from = serializers.DateTimeField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    revision = serializers.IntegerField()
    based_on = serializers.IntegerField(allow_null=True, help_text="The number of the version it was copied from.")
    created_by = serializers.CharField(allow_null=True)
    grids = serializers.IntegerField()
    in_force = serializers.BooleanField()


class DraftStartInputSerializer(serializers.Serializer):
    based_on = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**31 - 1,
                                        help_text="The version number to copy; default: the version in force.")
    label = serializers.CharField(required=False, allow_blank=True, max_length=128, default="")  # type: ignore[assignment]  # a field named like a Field attribute


class DraftCreatedSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    revision = serializers.IntegerField()


# --- a draft -------------------------------------------------------------------------------------

class ProblemSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="invalid, outside, overlap, gap, edges, sliver, no_community, "
                                           "outside_community, community_without_grid")
    message = serializers.CharField()
    grids = serializers.ListField(child=serializers.CharField(), help_text="The grid codes concerned.")
    community = serializers.CharField(allow_null=True)
    area_m2 = serializers.FloatField(allow_null=True)
    where = GeometryOutField(help_text="Where the problem is (GeoJSON, lon/lat).")


class EditorSerializer(serializers.Serializer):
    user = serializers.CharField()
    name = serializers.CharField()
    last_seen = serializers.DateTimeField()


class SaveLogSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    user = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_blank=True)
    at = serializers.DateTimeField()
    summary = serializers.DictField(help_text='{"op": save/split/merge/import/start, "changed", "added", '
                                              '"deleted": [codes]}')


class DraftDetailSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    label = serializers.CharField(allow_blank=True)  # type: ignore[assignment]  # a field named like a Field attribute
    revision = serializers.IntegerField()
    based_on = serializers.IntegerField(allow_null=True)
    editors = EditorSerializer(many=True)
    last_save = SaveLogSerializer(allow_null=True)
    grids = FeatureCollectionField(help_text="Features: id, code, name, community (id), community_name.")
    problems = ProblemSerializer(many=True)


class GridInputSerializer(serializers.Serializer):
    id = IdField(required=False, allow_null=True, help_text="A grid of the draft; none for a new grid.")
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=64)
    community = IdField(required=False, allow_null=True)
    geometry = GeometryInField(required=False, allow_null=True,
                             help_text="Polygon or MultiPolygon (lon, lat); may be left out to keep an existing "
                                       "grid's boundary.")


class DraftSaveInputSerializer(serializers.Serializer):
    revision = serializers.IntegerField(min_value=0, max_value=2**31 - 1,
                                        help_text="The revision the edit is based on.")
    upsert = GridInputSerializer(many=True, required=False, default=list)
    delete = serializers.ListField(child=IdField(), required=False, default=list)


class DraftSplitInputSerializer(serializers.Serializer):
    revision = serializers.IntegerField(min_value=0, max_value=2**31 - 1)
    grid = IdField()
    line = GeometryInField(help_text="A LineString (lon, lat) crossing the grid from border to border.")


class DraftMergeInputSerializer(serializers.Serializer):
    revision = serializers.IntegerField(min_value=0, max_value=2**31 - 1)
    grids = serializers.ListField(child=IdField(), min_length=2, max_length=2,
                                  help_text="Two neighbouring grids; the first keeps its code and name.")


class DraftChangeSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    grids = FeatureCollectionField(help_text="The grids changed or added by the edit.")
    deleted = serializers.ListField(child=serializers.IntegerField())
    problems = ProblemSerializer(many=True)

    @staticmethod
    def of(change: DraftChange) -> dict:
        return {"revision": change.version.revision,
                "grids": feature_collection([grid_feature(g) for g in change.grids]),
                "deleted": change.deleted, "problems": [p.as_dict() for p in change.problems]}


class PresenceSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    status = serializers.CharField()
    editors = EditorSerializer(many=True)
    last_save = SaveLogSerializer(allow_null=True)


# --- impact, staff, publishing -------------------------------------------------------------------

class ImpactMemberSerializer(serializers.Serializer):
    member = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    force = serializers.CharField()
    force_display = serializers.CharField()
    old_grid = serializers.CharField(allow_null=True, help_text="Code of the grid served in the version before.")
    grid = serializers.IntegerField(allow_null=True, help_text="The draft grid proposed (id); null: none.")
    grid_code = serializers.CharField(allow_null=True)
    reason = serializers.CharField(help_text="kept, post, largest, none, override")


class ImpactPointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    point = serializers.ListField(child=serializers.FloatField(), help_text="[lon, lat]")
    old = serializers.CharField(allow_null=True)
    new = serializers.CharField(allow_null=True)


class ImpactPlaceSerializer(ImpactPointSerializer):
    name = serializers.CharField()
    kind = serializers.CharField()


class ImpactAddressSerializer(ImpactPointSerializer):
    text = serializers.CharField()


class ImpactIncidentSerializer(ImpactPointSerializer):
    number = serializers.CharField()


class ImpactLoadSerializer(serializers.Serializer):
    code = serializers.CharField()
    grid = serializers.IntegerField(allow_null=True, help_text="The draft grid (id); null for a grid that goes.")
    old = serializers.IntegerField(allow_null=True, help_text="Incidents of the last 12 months in the old grid.")
    new = serializers.IntegerField(allow_null=True, help_text="... in the draft's grid of that code.")


class ImpactSerializer(serializers.Serializer):
    previous = serializers.IntegerField(allow_null=True, help_text="The version compared with.")
    members = ImpactMemberSerializer(many=True)
    places = ImpactPlaceSerializer(many=True)
    addresses = ImpactAddressSerializer(many=True)
    incidents = ImpactIncidentSerializer(many=True)
    loads = ImpactLoadSerializer(many=True)


class StaffMoveInputSerializer(serializers.Serializer):
    member = IdField()
    grid = IdField(allow_null=True, required=False, default=None, help_text="A draft grid; null: no grid.")
    clear = serializers.BooleanField(required=False, default=False,
                                     help_text="Drop the choice: the proposal by geometry applies again.")


class StaffMoveSerializer(serializers.Serializer):
    member = serializers.IntegerField()
    grid = serializers.IntegerField(allow_null=True)
    override = serializers.BooleanField()


class PublishInputSerializer(serializers.Serializer):
    revision = serializers.IntegerField(min_value=0, max_value=2**31 - 1,
                                        help_text="The draft's revision the planner looked at: 409 `stale` when "
                                                  "saved since.")
    effective_from = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                               help_text="Default: now.")


class PublishedSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    effective_from = serializers.DateTimeField()


# --- compare, assignments, import ----------------------------------------------------------------

class CompareQuerySerializer(serializers.Serializer):
    a = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    b = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


class CompareRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.CharField(help_text="added, removed, changed, unchanged")
    area_change_m2 = serializers.FloatField()
    a_name = serializers.CharField(allow_null=True)
    b_name = serializers.CharField(allow_null=True)


class CompareSerializer(serializers.Serializer):
    a = serializers.IntegerField()
    b = serializers.IntegerField()
    grids = CompareRowSerializer(many=True)
    changed = FeatureCollectionField(help_text="What changed per grid (symmetric difference); properties: code, "
                                               "status, area_change_m2.")


class AssignedGridSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class AssignmentSerializer(serializers.Serializer):
    member = serializers.IntegerField(source="pk")
    code = serializers.CharField()
    name = serializers.CharField()
    force = serializers.CharField()
    force_display = serializers.CharField(source="get_force_display")
    unit = serializers.CharField(source="unit.name")
    grids = AssignedGridSerializer(many=True, source="version_grids")


class AssignmentListSerializer(serializers.Serializer):
    version = serializers.IntegerField(allow_null=True, help_text="The version in force.")
    members = AssignmentSerializer(many=True)


class AssignmentInputSerializer(serializers.Serializer):
    member = IdField()
    grids = serializers.ListField(child=IdField(), max_length=200, help_text="Grids of the version in force.")


class ImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=".geojson, .gpkg or a .zip holding a Shapefile")
    label = serializers.CharField(required=False, allow_blank=True, max_length=128, default="")  # type: ignore[assignment]  # a field named like a Field attribute


class ImportedSerializer(serializers.Serializer):
    number = serializers.IntegerField()


class ImportCheckSerializer(serializers.Serializer):
    grids = FeatureCollectionField(help_text="Features: code, name, community (code).")
    problems = ProblemSerializer(many=True)
