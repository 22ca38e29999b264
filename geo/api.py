"""GeoJSON map layers of a sub-district (read-only). Thin views: parse the query, call a
selector, serialize. Every layer is a whole FeatureCollection (no pages): a sub-district's
layers are small enough, and the map needs all of them at once."""

import math
import re
from typing import Protocol

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from config.db_router import reads_from_replica
from config.inputs import ascii_int
from config.permissions import HasRole, is_staff_role
from config.roles import STAFF_ROLES, UserRole
from geo import selectors
from geo.models import Subdistrict
from geo.serializers import (
    AddressSerializer,
    CommunitySerializer,
    GridSerializer,
    PlaceSerializer,
    RoadSerializer,
    SubdistrictSerializer,
    WaterSerializer,
)
from geo.tenancy import request_subdistrict, tenant_q

SUBDISTRICT_PARAMETER = OpenApiParameter(
    "subdistrict", OpenApiTypes.STR,
    description="Sub-district code, one of the user's; default: the user's only one, or the one they chose last "
                "(a user of several who chose none: 400 `choose_subdistrict` with `choices`)."
)


class _ScopedView(Protocol):
    """What get_subdistrict needs of its view: DRF's request, and the mixin's cache."""

    request: Request
    _subdistrict: Subdistrict


class SubdistrictScopedMixin:
    """Resolves `?subdistrict=<code>` among the user's sub-districts (geo/tenancy.py: by default their
    only one or the one they chose; 400 naming the choices for a user of several), or answers 404."""

    _subdistrict: Subdistrict  # once resolved

    def get_subdistrict(self: _ScopedView) -> Subdistrict:
        if not hasattr(self, "_subdistrict"):
            self._subdistrict = request_subdistrict(self.request)  # one of the user's, else 404 (geo/tenancy.py)
        return self._subdistrict


class LayerView(SubdistrictScopedMixin, generics.ListAPIView):
    permission_classes = [HasRole]
    pagination_class = None

    def get(self, request, *args, **kwargs):
        with reads_from_replica():  # the map layers read the replica, if any (config/db_router.py)
            return super().get(request, *args, **kwargs)


@extend_schema_view(get=extend_schema(parameters=[SUBDISTRICT_PARAMETER]))
class SubdistrictListView(generics.ListAPIView):
    """Sub-districts with their boundaries; `?subdistrict=<code>` keeps only that one."""

    permission_classes = [HasRole]
    pagination_class = None
    serializer_class = SubdistrictSerializer

    def get(self, request, *args, **kwargs):
        with reads_from_replica():
            return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.subdistrict_list(code=self.request.query_params.get("subdistrict") or None).filter(
            tenant_q(self.request.user, "pk"))  # the user's own only


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


# Addresses name people's homes: the staff roles and the planners (whose page draws them) only.
ADDRESS_ROLES = frozenset(STAFF_ROLES | {UserRole.PLANNER})
# A number of the bbox: plain ASCII decimal (no "nan", "inf", exponents or thousands separators).
_DECIMAL = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")


def parse_bbox(raw: str | None) -> tuple[float, float, float, float]:
    """`west,south,east,north` in EPSG:4326 degrees, west < east and south < north; else 400."""
    parts = (raw or "").split(",")
    if len(parts) != 4 or not all(_DECIMAL.fullmatch(p.strip()) for p in parts):
        raise ValidationError({"bbox": _("bbox is four numbers: west,south,east,north in degrees (EPSG:4326).")})
    west, south, east, north = (float(p) for p in parts)
    if not all(math.isfinite(v) for v in (west, south, east, north)) or not (
        -180 <= west < east <= 180 and -90 <= south < north <= 90
    ):
        raise ValidationError({"bbox": _("bbox must have west < east and south < north, within ±180° and ±90°.")})
    return west, south, east, north


@extend_schema_view(
    get=extend_schema(
        parameters=[
            SUBDISTRICT_PARAMETER,
            OpenApiParameter(
                "bbox", OpenApiTypes.STR, required=True,
                description="west,south,east,north in EPSG:4326 degrees: the addresses inside it.",
            ),
        ]
    )
)
class AddressListView(LayerView):
    """The sub-district's addresses inside `?bbox=` (required): at most `selectors.ADDRESS_LIMIT`
    of them, ordered by text; a box holding more answers the first ones with `X-Truncated: 1`
    (the page asks only from zoom 16 on, where a box holds far fewer)."""

    serializer_class = AddressSerializer
    allowed_roles = ADDRESS_ROLES

    def get_queryset(self):
        bbox = parse_bbox(self.request.query_params.get("bbox"))
        return selectors.address_list(subdistrict=self.get_subdistrict(), bbox=bbox)

    def list(self, request, *args, **kwargs):
        rows = list(self.get_queryset()[: selectors.ADDRESS_LIMIT + 1])
        truncated = len(rows) > selectors.ADDRESS_LIMIT
        response = Response(self.get_serializer(rows[: selectors.ADDRESS_LIMIT], many=True).data)
        if truncated:
            response["X-Truncated"] = "1"
        return response
