"""Pages. The map page is a shell: Leaflet draws the layers it fetches from the GeoJSON API;
everything the script needs (API URLs, layer names in the user's language, tile settings) is
handed over through `json_script`, never interpolated into code.

`/` is everyone's start page (and where a login without `next` goes): the desks keep the map;
the forces land on their own page — a department user of a unit on its queue (/dept/), any other
user linked to an active member on the responders' app (/m/) (`landing_url`). `/?subdistrict=<code>`
shows the map to anybody, as before."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from config.permissions import MEMBER_MAP_ROLES, role_required
from config.roles import UserRole, has_role
from dispatch.models import Force, Member
from frontend.reports_trends_views import heat_config
from geo.models import Place, Road, Subdistrict
from geo.tenancy import request_subdistrict
from incidents.dept_api import DEPT_ROLES

# Names of the map layers in the layer switcher and the legend.
LAYER_NAMES = {
    "boundary": _("Sub-district boundary"),
    "communities": _("Communities"),
    "grids": _("Grids"),
    "roads": _("Roads"),
    "waters": _("Waters"),
    "places": _("Places"),
    "members": _("Members"),
    "offline": _("Offline basemap"),
    "tiles": _("Online map tiles"),
}

# Short words of popups, legend and controls.
MAP_TEXT = {
    "legend": _("Legend"),
    "onDuty": _("On duty"),
    "offDuty": _("Off duty"),
    "code": _("Code"),
    "community": _("Community"),
    "version": _("Grid version"),
    "address": _("Address"),
    "contact": _("Contact"),
    "force": _("Force"),
    "unit": _("Unit"),
    "grids": _("Grids"),
    "position": _("Position"),
    "positionAt": _("Position at"),
    "homePosition": _("Home position"),
    "zoomIn": _("Zoom in"),
    "zoomOut": _("Zoom out"),
    "loadError": _("A map layer could not be loaded."),
    "noData": _("No sub-district has been loaded yet."),
}


def map_config(request, subdistrict: Subdistrict | None) -> dict:
    """What map.js needs. The members layer is offered only to the roles that may read it."""
    api = {
        "subdistricts": reverse("geo:subdistricts"),
        "communities": reverse("geo:communities"),
        "grids": reverse("geo:grids"),
        "roads": reverse("geo:roads"),
        "waters": reverse("geo:waters"),
        "places": reverse("geo:places"),
        "members": reverse("dispatch:members") if has_role(request.user, *MEMBER_MAP_ROLES) else None,
    }
    center = settings.LEAFLET_CONFIG.get("DEFAULT_CENTER", (30.28, 120.00))
    return {
        "subdistrict": {"code": subdistrict.code, "name": subdistrict.name} if subdistrict else None,
        "api": api,
        # A point picked on the tiles is in their datum: the console sends it with the point.
        "tiles": {"url": settings.TILE_URL, "attribution": settings.TILE_ATTRIBUTION, "datum": settings.TILE_DATUM}
        if settings.TILE_URL
        else None,
        "center": list(center),
        "zoom": settings.LEAFLET_CONFIG.get("DEFAULT_ZOOM", 13),
        "layers": LAYER_NAMES,
        "text": MAP_TEXT,
        "placeKinds": dict(Place.Kind.choices),
        "roadClasses": dict(Road.RoadClass.choices),
        "forces": dict(Force.choices),
    }


# The desks' roles: their users keep the map as their start page, whatever else they are.
DESK_ROLES = frozenset(UserRole.values) - {UserRole.RESPONDER, UserRole.DEPARTMENT}


def forces_pages(user) -> dict[str, bool]:
    """Which of the forces' pages the user may use — the rules of those pages: the responders' app
    (`app`, frontend.mobile_views.app_view: linked to an active member) and the department queue
    (`dept`, frontend.dept_views.dept_view: also a department role or a responder). One query per
    request at most (kept on the user, as their roles are)."""
    cached = getattr(user, "_gridlink_forces_pages", None)
    if cached is None:
        member = user.is_authenticated and Member.objects.filter(user=user, active=True).exists()
        cached = {"app": member, "dept": member and has_role(user, *DEPT_ROLES)}
        if user.is_authenticated:
            user._gridlink_forces_pages = cached
    return cached


def landing_url(user) -> str | None:
    """Where `/` sends the user: a department user of a unit to its queue, any other user linked to
    an active member (a responder, a leader of the forces) to the responders' app; None — the map —
    for the desks (DESK_ROLES) and for anybody who may use neither page."""
    if not user.is_authenticated or has_role(user, *DESK_ROLES):
        return None
    pages = forces_pages(user)
    if pages["dept"] and has_role(user, UserRole.DEPARTMENT):
        return reverse("dept:queue")
    return reverse("mobile:app") if pages["app"] else None


@role_required()
def map_view(request):
    """The sub-district map (`?subdistrict=<code>`, one of the user's; geo/tenancy.py). Plain `/` sends the
    forces to their own page (`landing_url`)."""
    landing = None if request.GET else landing_url(request.user)
    if landing is not None:
        return redirect(landing)
    subdistrict = request_subdistrict(request, required=False)
    config = map_config(request, subdistrict)
    config["heat"] = heat_config(request, subdistrict)  # the hot-spot layer (None: not for this role)
    return render(request, "frontend/map.html", {"subdistrict": subdistrict, "map_config": config})


def url_template(name: str) -> str:
    """The URL of `name` with "{id}" where its id goes (the pages' modules fill it in)."""
    return reverse(name, args=[0]).replace("/0/", "/{id}/")


def csrf_header_name() -> str:
    """settings.CSRF_HEADER_NAME is a WSGI key ("HTTP_X_CSRFTOKEN"): the header a client sends."""
    return settings.CSRF_HEADER_NAME.removeprefix("HTTP_").replace("_", "-")


@login_required
def choose_subdistrict_view(request):
    """`/choose/?next=<a page of this site>`: the user's sub-districts, each a link to that page about
    it (the choice is kept: geo/tenancy.py). Reached from the header by a user of several."""
    from frontend.middleware import chooser

    target = request.GET.get("next") or reverse("frontend:map")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = reverse("frontend:map")
    path, _sep, query = target.partition("?")
    return chooser(request, path, QueryDict(query))
