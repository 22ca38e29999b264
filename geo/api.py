"""GeoJSON map layers of a sub-district (read-only). Thin views: parse the query, call a
selector, serialize. Every layer is a whole FeatureCollection (no pages): a sub-district's
layers are small enough, and the map needs all of them at once."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.exceptions import NotFound, ValidationError

from config.inputs import ascii_int
from config.permissions import HasRole, is_staff_role
from geo import selectors
from geo.models import Subdistrict
from geo.serializers import (
    CommunitySerializer,
    GridSerializer,
    PlaceSerializer,
    RoadSerializer,
    SubdistrictSerializer,
    WaterSerializer,
)

SUBDISTRICT_PARAMETER = OpenApiParameter(
    "subdistrict", OpenApiTypes.STR, description="Sub-district code; default: the first one by code."
)


class SubdistrictScopedMixin:
    """Resolves `?subdistrict=<code>` (default: the first sub-district) or answers 404."""

    def get_subdistrict(self) -> Subdistrict:
        if not hasattr(self, "_subdistrict"):
            code = self.request.query_params.get("subdistrict") or None
            subdistrict = selectors.subdistrict_get(code=code)
            if subdistrict is None:
                raise NotFound(_("No such sub-district."))
            self._subdistrict = subdistrict
        return self._subdistrict


class LayerView(SubdistrictScopedMixin, generics.ListAPIView):
    permission_classes = [HasRole]
    pagination_class = None


@extend_schema_view(get=extend_schema(parameters=[SUBDISTRICT_PARAMETER]))
class SubdistrictListView(generics.ListAPIView):
    """Sub-districts with their boundaries; `?subdistrict=<code>` keeps only that one."""

    permission_classes = [HasRole]
    pagination_class = None
    serializer_class = SubdistrictSerializer

    def get_queryset(self):
        return selectors.subdistrict_list(code=self.request.query_params.get("subdistrict") or None)


@extend_schema_view(get=extend_schema(parameters=[SUBDISTRICT_PARAMETER]))
class CommunityListView(LayerView):
    serializer_class = CommunitySerializer

    def get_queryset(self):
        return selectors.community_list(subdistrict=self.get_subdistrict())


@extend_schema_view(
    get=extend_schema(
        parameters=[
            SUBDISTRICT_PARAMETER,
            OpenApiParameter(
                "version", OpenApiTypes.INT, description="Version number; default: the one in force now."
            ),
        ]
    )
)
class GridListView(LayerView):
    """Grids of the published version in force now, or of `?version=N`."""

    serializer_class = GridSerializer

    def get_queryset(self):
        subdistrict = self.get_subdistrict()
        raw_number = self.request.query_params.get("version")
        if raw_number:
            number = ascii_int(raw_number, minimum=1, maximum=2**31 - 1)
            if number is None:
                raise ValidationError({"version": _("A version number is a whole number.")})
            version = selectors.boundary_version_get(subdistrict=subdistrict, number=number)
            if version is None:
                raise NotFound(_("No such grid version."))
        else:
            version = selectors.boundary_version_in_force(subdistrict=subdistrict)
        return selectors.grid_list(version=version)


@extend_schema_view(get=extend_schema(parameters=[SUBDISTRICT_PARAMETER]))
class RoadListView(LayerView):
    serializer_class = RoadSerializer

    def get_queryset(self):
        return selectors.road_list(subdistrict=self.get_subdistrict())


@extend_schema_view(get=extend_schema(parameters=[SUBDISTRICT_PARAMETER]))
class WaterListView(LayerView):
    serializer_class = WaterSerializer

    def get_queryset(self):
        return selectors.water_list(subdistrict=self.get_subdistrict())


@extend_schema_view(get=extend_schema(parameters=[SUBDISTRICT_PARAMETER]))
class PlaceListView(LayerView):
    """Places; the contact's name only for the staff roles."""

    serializer_class = PlaceSerializer

    def with_contact(self) -> bool:
        return is_staff_role(self.request.user)

    def get_queryset(self):
        return selectors.place_list(subdistrict=self.get_subdistrict(), with_contact=self.with_contact())

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "with_contact": self.with_contact()}
