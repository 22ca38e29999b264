"""The planners' page (/planner/): grid versions of a sub-district drafted, checked, weighed and
published on a map (issue 13).

The page is a shell around the planner API (/api/v1/planner/, planner/api.py) and the geo layers
(/api/v1/geo/): native ES modules under static/gridlink/planner/ draw it with Leaflet and edit the
draft with Leaflet-Geoman (free), both from npm. Everything the modules need — the API URLs
reversed here, the sub-district, the problem kinds, the members' forces and the lineage's reasons
with their labels, the CSRF cookie and header names, the time zone and every word in the user's
language — goes through `json_script` (#planner-config), never into code. Nothing here writes.

Only planners and the command room open it (403 for the others, as the planner API answers them).
"""

from django.conf import settings
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from config.permissions import role_required
from config.roles import UserRole
from dispatch.models import Force
from frontend.views import csrf_header_name
from geo.tenancy import request_subdistrict

PLANNER_ROLES = (UserRole.PLANNER, UserRole.COMMAND_ROOM)
# Seconds between two presence calls: the draft shows who else edits it and who saved last.
PRESENCE_SECONDS = 15
# Addresses and places are drawn from this zoom on (thousands of points would hide the grids).
POINTS_ZOOM = 16

# The validation's problem kinds (geo.coverage.KINDS) as the list groups them.
PROBLEM_KINDS = {
    "invalid": _("Invalid polygon"),
    "outside": _("Outside the sub-district"),
    "overlap": _("Overlap"),
    "gap": _("Gap"),
    "edges": _("Borders that do not match"),
    "sliver": _("Sliver"),
    "no_community": _("No community"),
    "outside_community": _("Outside its community"),
    "community_without_grid": _("Community without a grid"),
}

# Why a member goes to a grid of the draft (planner.services.draft_impact, geo.lineage).
MOVE_REASONS = {
    "kept": _("grid kept"),
    "post": _("the part holding the duty post"),
    "largest": _("the largest part"),
    "none": _("no successor"),
    "override": _("set by a planner"),
}

# The changes of a comparison (planner.services.version_compare).
COMPARE_STATUSES = {
    "added": _("added"),
    "removed": _("removed"),
    "changed": _("changed"),
    "unchanged": _("unchanged"),
}

# What a save of the draft log did (DraftSave.summary["op"]).
SAVE_OPS = {
    "save": _("edited"),
    "split": _("split"),
    "merge": _("merged"),
    "import": _("imported"),
    "start": _("started"),
}

EXPORT_FORMATS = [("geojson", "GeoJSON"), ("gpkg", "GeoPackage"), ("shp", "Shapefile (zip)")]
EXPORT_CRS = [
    (4326, _("WGS 84 / CGCS2000 longitude and latitude (EPSG:4326)")),
    (4549, _("CGCS2000 Gauss-Krüger, 3° zone, central meridian 120°E (EPSG:4549)")),
]

PLANNER_TEXT = {
    "layers": {
        "boundary": _("Sub-district boundary"),
        "communities": _("Communities"),
        "inForce": _("Grids in force"),
        "draft": _("Draft grids"),
        "roads": _("Roads"),
        "places": _("Places"),
        "addresses": _("Addresses"),
        "problems": _("Problems"),
        "impact": _("Impact"),
        "compare": _("Changes between versions"),
    },
    "loading": _("Loading…"),
    "loadError": _("The page could not be loaded; try again."),
    "failed": _("The request failed; try again."),
    "signedOut": _("You are signed out: log in again."),
    "saving": _("Saving…"),
    "saved": _("Saved: revision %(revision)s."),
    "noDraft": _("No draft is open. Start one from a version, or open a draft in the list."),
    "draftTitle": _("Draft %(number)s, revision %(revision)s"),
    "viewTitle": _("Version %(number)s (%(status)s): read only"),
    "statusDraft": _("draft"),
    "statusPublished": _("published"),
    "inForce": _("in force"),
    "started": _("Draft %(number)s started."),
    # presence
    "editing": _("Also editing: %(names)s"),
    "aloneEditing": _("Nobody else is editing this draft."),
    "savedBy": _("%(name)s saved revision %(revision)s at %(time)s."),
    # the tools
    "selectFirst": _("Select a grid on the map or in the list first."),
    "editHint": _("Drag a vertex: the grids sharing it follow. Drag a midpoint to add a vertex; right-click a vertex to remove it. Hold Alt to stop snapping."),
    "splitHint": _("Draw a line across the selected grid: click where it starts, at each bend, and click the last point again to finish."),
    "mergeHint": _("Shift-click a neighbour of %(code)s to merge the two."),
    "mergePick": _("Select two neighbouring grids to merge (shift-click the second)."),
    "drawHint": _("Draw the new grid: click each corner (it snaps to the grids' vertices and borders and to roads), and click the first corner again to close it."),
    "newGridTitle": _("New grid: give its code, name and community."),
    "createGrid": _("Create the grid"),
    "cancel": _("Cancel"),
    "created": _("Grid %(code)s created."),
    "splitDone": _("Grid %(code)s split."),
    "mergeDone": _("Grids merged into %(code)s."),
    "undone": _("Undone."),
    "redone": _("Redone."),
    "nothingToUndo": _("Nothing to undo."),
    "nothingToRedo": _("Nothing to redo."),
    # the stale save
    "staleTitle": _("Someone else saved this draft since you loaded it: your change was not saved."),
    "staleLine": _("Revision %(revision)s by %(name)s at %(time)s: %(what)s"),
    "staleReload": _("Reload the draft"),
    "changed": _("changed %(codes)s"),
    "added": _("added %(codes)s"),
    "deleted": _("deleted %(codes)s"),
    # the grid form
    "code": _("Code"),
    "name": _("Name"),
    "community": _("Community"),
    "noCommunity": _("(none)"),
    "saveGrid": _("Save the grid"),
    "deleteGrid": _("Delete the grid"),
    "deleteConfirm": _("Delete grid %(code)s from the draft?"),
    "grids": _("%(count)s grids"),
    # problems
    "noProblems": _("No problems: the draft can be published."),
    "problemCount": _("%(count)s problems"),
    "area": _("%(area)s m²"),
    # impact
    "impactLoad": _("Show the impact"),
    "members": _("Members whose grid changes"),
    "member": _("Member"),
    "force": _("Force"),
    "oldGrid": _("Grid now"),
    "newGrid": _("Grid in the draft"),
    "reason": _("Why"),
    "noGrid": _("(no grid)"),
    "places": _("Places and addresses that change grid"),
    "placeName": _("Place or address"),
    "incidents": _("Open incidents in another grid"),
    "incident": _("Incident"),
    "loads": _("Load per grid (incidents of the last 12 months)"),
    "grid": _("Grid"),
    "loadOld": _("Now"),
    "loadNew": _("Draft"),
    "none": _("None."),
    "moveSaved": _("%(name)s will go to %(grid)s."),
    # publish
    "publish": _("Publish"),
    "publishNow": _("Now"),
    "publishAt": _("At"),
    "publishBlocked": _("A draft with problems cannot be published."),
    "publishConfirm": _("Publish draft %(number)s as of revision %(revision)s? Its grids take effect at the time chosen and cannot be changed afterwards."),
    "publishRevision": _("Publishes draft %(number)s as of revision %(revision)s: if it is saved again meanwhile, publishing is refused."),
    "published": _("Version %(number)s published, in force from %(time)s."),
    "needTime": _("Choose the time it takes effect."),
    # versions
    "number": _("No."),
    "label": _("Label"),
    "status": _("Status"),
    "effective": _("In force from"),
    "createdBy": _("Drafted by"),
    "open": _("Open"),
    "startFrom": _("New draft from it"),
    "compareA": _("Version A"),
    "compareB": _("Version B"),
    "compare": _("Compare"),
    "compareNeedTwo": _("Choose two versions."),
    "areaChange": _("Area change (m²)"),
    "change": _("Change"),
    "noChanges": _("The two versions have the same grids."),
    # assignments
    "assignGrids": _("Grids"),
    "assignSave": _("Save"),
    "assignSaved": _("Grids of %(name)s saved."),
    "assignFilter": _("Filter by name or grid"),
    # import / export
    "importFile": _("File (GeoJSON, GeoPackage, or a zipped Shapefile)"),
    "importLabel": _("Label of the new draft"),
    "importCheck": _("Check the file"),
    "importCreate": _("Create the draft"),
    "importRead": _("%(count)s grids read."),
    "importNeedFile": _("Choose a file first."),
    "importDone": _("Draft %(number)s created from the file."),
    "exportFormat": _("Format"),
    "exportCrs": _("Coordinate system"),
    "exportVersion": _("Version"),
    "download": _("Download"),
}


def _api(name: str, *args) -> str:
    return reverse(f"planner:{name}", args=args)


def _number_template(name: str) -> str:
    """The URL of `name` with "{id}" where a version number goes (the modules fill it in)."""
    return _api(name, 0).replace("/0/", "/{id}/")


def planner_config(request, subdistrict) -> dict:
    """What app.js needs."""
    center = settings.LEAFLET_CONFIG.get("DEFAULT_CENTER", (30.28, 120.00))
    return {
        "subdistrict": {"code": subdistrict.code, "name": subdistrict.name} if subdistrict else None,
        "user": {"username": request.user.get_username(),
                 "name": request.user.get_full_name() or request.user.get_username()},
        "timeZone": settings.TIME_ZONE,
        "language": get_language(),
        "api": {
            "versions": _api("versions"),
            "drafts": _api("drafts"),
            "draft": _number_template("draft"),
            "save": _number_template("draft-save"),
            "split": _number_template("draft-split"),
            "merge": _number_template("draft-merge"),
            "presence": _number_template("draft-presence"),
            "impact": _number_template("draft-impact"),
            "staffMoves": _number_template("draft-staff-moves"),
            "publish": _number_template("draft-publish"),
            "compare": _api("compare"),
            "assignments": _api("assignments"),
            "import": _api("import"),
            "export": _number_template("export"),
            "boundary": reverse("geo:subdistricts"),
            "communities": reverse("geo:communities"),
            "grids": reverse("geo:grids"),
            "roads": reverse("geo:roads"),
            "places": reverse("geo:places"),
            "addresses": reverse("geo:addresses"),
        },
        "csrf": {"cookie": settings.CSRF_COOKIE_NAME, "header": csrf_header_name()},
        "tiles": {"url": settings.TILE_URL, "attribution": settings.TILE_ATTRIBUTION} if settings.TILE_URL else None,
        "center": list(center),  # (lat, lon): Leaflet's order, as map.js's configuration
        "zoom": settings.LEAFLET_CONFIG.get("DEFAULT_ZOOM", 13),
        "pointsZoom": POINTS_ZOOM,
        "presenceSeconds": PRESENCE_SECONDS,
        "problemKinds": PROBLEM_KINDS,
        "reasons": MOVE_REASONS,
        "compareStatuses": COMPARE_STATUSES,
        "saveOps": SAVE_OPS,
        "forces": dict(Force.choices),
        "exportFormats": [[value, label] for value, label in EXPORT_FORMATS],
        "exportCrs": [[value, label] for value, label in EXPORT_CRS],
        "text": PLANNER_TEXT,
    }


@role_required(*PLANNER_ROLES)
def planner_view(request):
    """The planners' page of a sub-district (`?subdistrict=<code>` among the user's, geo/tenancy.py;
    404 for a code that names none of theirs)."""
    subdistrict = request_subdistrict(request, required=False)
    get_token(request)  # the CSRF cookie the modules send back with every save
    return render(
        request,
        "frontend/planner.html",
        {"subdistrict": subdistrict, "planner_config": planner_config(request, subdistrict)},
    )
