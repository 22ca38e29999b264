"""`GET /api/v1/tiles/<layer>/<z>/<x>/<y>.pbf`: a vector tile of a district's map layer (geo/tiles.py)
for the staff roles, with the rows of their own sub-districts only. 204 for a tile with no feature;
400 naming the allowed range for z, x or y out of it (or not a whole number)."""

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from config.db_router import read_connection, reads_from_replica
from config.permissions import HasRole
from config.roles import STAFF_ROLES
from config.schema import error_response
from geo import tiles

MVT = "application/vnd.mapbox-vector-tile"
# Short and private: the layers move (cases, positions), and a tile holds the user's own rows.
CACHE_CONTROL = "private, max-age=15"


class TileView(APIView):
    """One tile of one layer; one SQL statement (on the read replica, if any)."""

    permission_classes = [HasRole]
    allowed_roles = STAFF_ROLES

    @extend_schema(
        summary="A vector tile of a district map layer (Mapbox Vector Tile, EPSG:3857)",
        description="Layers: `grids` (the grid version in force of each sub-district), `incidents` (open cases "
                    "and those reported in the last 24 hours), `members` (active members at their last known "
                    "position, else at home). Only the user's sub-districts. 204 when the tile has no feature.",
        parameters=[
            OpenApiParameter("layer", OpenApiTypes.STR, OpenApiParameter.PATH, enum=tiles.LAYERS),
            OpenApiParameter("z", OpenApiTypes.INT, OpenApiParameter.PATH,
                             description=f"Zoom, {tiles.MIN_ZOOM}–{tiles.MAX_ZOOM}."),
            OpenApiParameter("x", OpenApiTypes.INT, OpenApiParameter.PATH, description="Column, 0 to 2^z − 1."),
            OpenApiParameter("y", OpenApiTypes.INT, OpenApiParameter.PATH, description="Row, 0 to 2^z − 1 (XYZ)."),
        ],
        responses={
            (200, MVT): OpenApiTypes.BINARY,
            204: OpenApiResponse(description="No feature in this tile."),
            400: error_response("z, x or y is not a whole number in range."),
        },
    )
    def get(self, request, layer: str, z: str, x: str, y: str):
        key = tiles.TileKey.parse(z, x, y)  # 400 naming the range otherwise
        with reads_from_replica():  # a read-only path (config/db_router.py)
            data = tiles.tile(layer, key, user=request.user, at=timezone.now(), connection=read_connection())
        response = HttpResponse(data, content_type=MVT, status=200 if data else 204)
        response["Cache-Control"] = CACHE_CONTROL
        return response

