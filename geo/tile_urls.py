"""The district map's vector tiles: /api/v1/tiles/<layer>/<z>/<x>/<y>.pbf (geo/tiles_api.py). z, x and
y are matched as any path segment so that a bad one answers 400 naming the range, not 404."""

from django.urls import path, register_converter

from geo import tiles, tiles_api


class LayerConverter:
    regex = "|".join(tiles.LAYERS)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(LayerConverter, "tile_layer")

app_name = "tiles"
urlpatterns = [
    path("<tile_layer:layer>/<str:z>/<str:x>/<str:y>.pbf", tiles_api.TileView.as_view(), name="tile"),
]
