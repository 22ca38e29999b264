"""GeoJSON serializers of the map layers (rest_framework_gis). Coordinates are EPSG:4326
longitude/latitude rounded to 6 decimals (about 0.1 m), enough for a command-room map."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from geo.models import Address, Community, Grid, Place, Road, Subdistrict, Water

COORDINATE_PRECISION = 6


@extend_schema_field({"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2})
class LabelPointField(serializers.Field):
    """A point annotated by the selector (PointOnSurface), as [lon, lat] for placing a label."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return [round(value.x, COORDINATE_PRECISION), round(value.y, COORDINATE_PRECISION)]


@extend_schema_field({"type": "object"})
class AnnotatedGeometryField(GeometryField):
    """A geometry computed by the query (an annotation, not a model field). The GeoJSON
    geometry's schema comes from the model field that the serializer's `geo_field` names."""


def geometry_field(source: str | None = None) -> GeometryField:
    if source:
        return AnnotatedGeometryField(precision=COORDINATE_PRECISION, read_only=True, source=source)
    return GeometryField(precision=COORDINATE_PRECISION, read_only=True)


class SubdistrictSerializer(GeoFeatureModelSerializer):
    boundary = geometry_field()

    class Meta:
        model = Subdistrict
        geo_field = "boundary"
        fields = ["id", "code", "name", "district", "city"]


class CommunitySerializer(GeoFeatureModelSerializer):
    boundary = geometry_field()
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    label_point = LabelPointField()

    class Meta:
        model = Community
        geo_field = "boundary"
        fields = ["id", "code", "name", "kind", "kind_display", "label_point"]


class GridSerializer(GeoFeatureModelSerializer):
    boundary = geometry_field()
    community = serializers.CharField(source="community.name", read_only=True)
    community_code = serializers.CharField(source="community.code", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    label_point = LabelPointField()

    class Meta:
        model = Grid
        geo_field = "boundary"
        fields = ["id", "code", "name", "community", "community_code", "version", "label_point"]


class RoadSerializer(GeoFeatureModelSerializer):
    line = geometry_field()
    road_class_display = serializers.CharField(source="get_road_class_display", read_only=True)

    class Meta:
        model = Road
        geo_field = "line"
        fields = ["id", "name", "road_class", "road_class_display", "one_way", "is_bridge"]


class WaterSerializer(GeoFeatureModelSerializer):
    area = geometry_field()

    class Meta:
        model = Water
        geo_field = "area"
        fields = ["id", "name"]


class PlaceSerializer(GeoFeatureModelSerializer):
    """A place; `contact` (the contact member's name) only when the context says
    `with_contact` (staff roles): the others never receive the field at all."""

    location = geometry_field()
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    contact = serializers.CharField(source="contact.name", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Place
        geo_field = "location"
        fields = ["id", "kind", "kind_display", "name", "address", "contact"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.context.get("with_contact"):
            self.fields.pop("contact")


class AddressSerializer(GeoFeatureModelSerializer):
    location = geometry_field()

    class Meta:
        model = Address
        geo_field = "location"
        fields = ["id", "text"]
