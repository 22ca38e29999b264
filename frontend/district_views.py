"""The district map (/district/): every sub-district of the user's at once, drawn by MapLibre GL JS
from the vector tiles of /api/v1/tiles/ (geo/tiles.py) — grids, cases and members of a whole
district, which the sub-district map's GeoJSON layers (/) cannot carry. The wall of one sub-district
stays as it is. The staff roles only, as the tiles. Everything the script needs — the library's and
the tiles' URLs, the layers' names and the words of its popups in the user's language, the optional
basemap — comes through `json_script`."""

from django.conf import settings
from django.contrib.gis.db.models import Extent
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from config.permissions import role_required
from config.roles import STAFF_ROLES
from dispatch.models import Force
from frontend.views import url_template
from geo.models import Subdistrict
from geo.tenancy import tenant_q

LAYER_NAMES = {
    "grids": _("Grids"),
    "incidents": _("Cases"),
    "members": _("Members"),
}

DISTRICT_TEXT = {
    "code": _("Code"),
    "subdistrict": _("Sub-district"),
    "version": _("Grid version"),
    "status": _("Status"),
    "category": _("Category"),
    "major": _("Major incident"),
    "reportedAt": _("Reported at"),
    "force": _("Force"),
    "onDuty": _("On duty"),
    "offDuty": _("Off duty"),
    "atHome": _("At home position (no position reported)"),
    "open": _("Open the case"),
    "loadError": _("The map could not be drawn: this browser may lack WebGL."),
}


def district_config(request) -> dict:
    """What district/map.js needs; `bounds`: the extent of the user's sub-districts (one query)."""
    extent = (Subdistrict.objects.filter(tenant_q(request.user, "pk"))
              .aggregate(extent=Extent("boundary"))["extent"])
    template = reverse("tiles:tile", kwargs={"layer": "grids", "z": "0", "x": "0", "y": "0"})
    center = settings.LEAFLET_CONFIG.get("DEFAULT_CENTER", (30.28, 120.00))
    return {
        "library": static("vendor/maplibre/maplibre-gl.mjs"),
        # {layer}/{z}/{x}/{y}: MapLibre fills in z, x and y; the page the layer.
        "tiles": template.replace("/grids/0/0/0.pbf", "/{layer}/{z}/{x}/{y}.pbf"),
        "incident": url_template("console:incident"),  # a case's page, "{id}" filled in
        "basemap": {"url": settings.TILE_URL, "attribution": settings.TILE_ATTRIBUTION} if settings.TILE_URL else None,
        "center": [center[1], center[0]],  # MapLibre's (lon, lat)
        "zoom": 11,
        "bounds": list(extent) if extent else None,
        "layers": LAYER_NAMES,
        "text": DISTRICT_TEXT,
        "forces": dict(Force.choices),
    }


@role_required(*STAFF_ROLES)
def district_view(request):
    """The district map of the user's sub-districts (all of a district's for the district centre)."""
    return render(request, "frontend/district.html", {"district_config": district_config(request)})
