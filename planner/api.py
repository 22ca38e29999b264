"""The planners' API (/api/v1/planner/): grid versions, drafts and their edits, the impact of a draft,
publishing, comparing versions, who serves which grid, import and export. Thin views: parse with a
serializer, call one service or selector, render. For planners and the command room only (403 for
the other roles); the sub-district by `?subdistrict=<code>` (default the first one); a version by its
number within the sub-district (404 otherwise). Refusals are the project's `{"detail", "code"}`
(config/exceptions.py); a stale save's answer (409 `stale`) also holds `revision` and `since` (the
saves missed), a refused publication's (400 `problems`) the `problems`.
"""

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import DomainError
from config.permissions import HasRole
from geo import coverage, interchange
from geo.api import SUBDISTRICT_PARAMETER, SubdistrictScopedMixin
from geo.models import BoundaryVersion
from geo.selectors import boundary_version_in_force
from incidents.idempotency import IdempotentMixin
from planner import selectors, services
from planner.serializers import (
    AssignmentInputSerializer,
    AssignmentListSerializer,
    AssignmentSerializer,
    CompareQuerySerializer,
    CompareSerializer,
    DraftChangeSerializer,
    DraftCreatedSerializer,
    DraftDetailSerializer,
    DraftMergeInputSerializer,
    DraftSaveInputSerializer,
    DraftSplitInputSerializer,
    DraftStartInputSerializer,
    ImpactSerializer,
    ImportCheckSerializer,
    ImportedSerializer,
    ImportInputSerializer,
    PresenceSerializer,
    PublishedSerializer,
    PublishInputSerializer,
    StaffMoveInputSerializer,
    StaffMoveSerializer,
    VersionSerializer,
    feature_collection,
    geojson,
    grid_feature,
)

EXPORT_FORMATS = tuple(interchange.FORMATS)
EXPORT_CRS = (4326, 4549, 4490, 3857)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PlannerView(IdempotentMixin, SubdistrictScopedMixin, APIView):
    """A planner's view: its POSTs honour `Idempotency-Key` (incidents/idempotency.py) like every action."""

    permission_classes = [HasRole]
    allowed_roles = services.PLANNER_ROLES

    def get_version(self, number: int) -> BoundaryVersion:
        version = selectors.version_get(subdistrict=self.get_subdistrict(), number=number)
        if version is None:
            raise NotFound(_("No such grid version."))
        return version

    def get_draft(self, number: int) -> BoundaryVersion:
        version = self.get_version(number)
        if version.status != BoundaryVersion.Status.DRAFT:
            raise NotFound(_("No such draft: this version is published."))
        return version


def _editors(version) -> list[dict]:
    return [{"user": e.user.get_username(), "name": services.user_name(e.user), "last_seen": e.last_seen}
            for e in selectors.draft_editors(version=version)]


def _last_save(version) -> dict | None:
    save = selectors.draft_last_save(version=version)
    return services.save_as_dict(save) if save else None


# --- versions and drafts -------------------------------------------------------------------------

class VersionListView(PlannerView):
    @extend_schema(summary="The sub-district's grid versions, newest first", parameters=[SUBDISTRICT_PARAMETER],
                   responses=VersionSerializer(many=True))
    def get(self, request):
        subdistrict = self.get_subdistrict()
        in_force = boundary_version_in_force(subdistrict=subdistrict)
        rows = []
        for v in selectors.version_list(subdistrict=subdistrict):
            v.grids_count = v.published_grids if v.status == BoundaryVersion.Status.PUBLISHED else v.draft_count
            rows.append({"number": v.number, "label": v.label, "status": v.status,
                         "status_display": v.get_status_display(), "effective_from": v.effective_from,
                         "published_at": v.published_at, "created_at": v.created_at, "revision": v.revision,
                         "based_on": v.based_on.number if v.based_on else None,
                         "created_by": services.user_name(v.created_by) if v.created_by else None,
                         "grids": v.grids_count, "in_force": in_force is not None and v.pk == in_force.pk})
        return Response(VersionSerializer(rows, many=True).data)


class DraftListView(PlannerView):
    @extend_schema(summary="Start a draft: a copy of a version (default the latest published one)",
                   parameters=[SUBDISTRICT_PARAMETER], request=DraftStartInputSerializer,
                   responses={201: DraftCreatedSerializer})
    def post(self, request):
        data = _valid(DraftStartInputSerializer, request.data)
        based_on = self.get_version(data["based_on"]) if data.get("based_on") else None
        version = services.draft_start(subdistrict=self.get_subdistrict(), based_on=based_on, actor=request.user,
                                       label=data["label"])
        return Response({"number": version.number, "revision": version.revision}, status=status.HTTP_201_CREATED)


class DraftDetailView(PlannerView):
    @extend_schema(summary="A draft: its grids (GeoJSON), problems, editors and last save",
                   parameters=[SUBDISTRICT_PARAMETER], responses=DraftDetailSerializer)
    def get(self, request, number: int):
        version = self.get_draft(number)
        grids = list(selectors.draft_grid_list(version=version))
        return Response(DraftDetailSerializer({
            "number": version.number, "label": version.label, "revision": version.revision,
            "based_on": version.based_on.number if version.based_on is not None else None,
            "editors": _editors(version), "last_save": _last_save(version),
            "grids": feature_collection([grid_feature(g) for g in grids]),
            "problems": [p.as_dict() for p in services.draft_problems(version)],
        }).data)


def _change_response(change: services.DraftChange) -> Response:
    change.grids = list(selectors.draft_grid_list(version=change.version, ids=[g.pk for g in change.grids]))
    return Response(DraftChangeSerializer(DraftChangeSerializer.of(change)).data)


class DraftSaveView(PlannerView):
    @extend_schema(summary="Save an edit of a draft (grids changed, added, deleted)",
                   description="409 `stale` when the draft was saved since `revision`: the answer's `since` lists "
                               "the saves missed (revision, user, name, at, summary).",
                   parameters=[SUBDISTRICT_PARAMETER], request=DraftSaveInputSerializer,
                   responses=DraftChangeSerializer)
    def post(self, request, number: int):
        data = _valid(DraftSaveInputSerializer, request.data)
        version = self.get_version(number)  # a published one: the service's 409
        upsert = [{"id": g.get("id"), "code": g["code"], "name": g["name"], "community": g.get("community"),
                   "boundary": g.get("geometry")} for g in data["upsert"]]
        return _change_response(services.draft_save(version_id=version.pk, base_revision=data["revision"],
                                                    upsert=upsert, delete=data["delete"], actor=request.user))


class DraftSplitView(PlannerView):
    @extend_schema(summary="Split a grid of a draft along a line", parameters=[SUBDISTRICT_PARAMETER],
                   request=DraftSplitInputSerializer, responses=DraftChangeSerializer)
    def post(self, request, number: int):
        data = _valid(DraftSplitInputSerializer, request.data)
        version = self.get_version(number)  # a published one: the service's 409
        return _change_response(services.draft_split(version_id=version.pk, base_revision=data["revision"],
                                                     grid_id=data["grid"], line=data["line"], actor=request.user))


class DraftMergeView(PlannerView):
    @extend_schema(summary="Merge two neighbouring grids of a draft", parameters=[SUBDISTRICT_PARAMETER],
                   request=DraftMergeInputSerializer, responses=DraftChangeSerializer)
    def post(self, request, number: int):
        data = _valid(DraftMergeInputSerializer, request.data)
        version = self.get_version(number)  # a published one: the service's 409
        return _change_response(services.draft_merge(version_id=version.pk, base_revision=data["revision"],
                                                     grid_ids=data["grids"], actor=request.user))


class DraftPresenceView(PlannerView):
    @extend_schema(summary="I have this draft open: who else has, and the last save",
                   parameters=[SUBDISTRICT_PARAMETER], request=None, responses=PresenceSerializer)
    def post(self, request, number: int):
        version = services.draft_presence(version_id=self.get_version(number).pk, actor=request.user)
        return Response(PresenceSerializer({"revision": version.revision, "status": version.status,
                                            "editors": _editors(version), "last_save": _last_save(version)}).data)


class DraftImpactView(PlannerView):
    @extend_schema(summary="What publishing the draft would change: staff, places, addresses, open incidents, "
                           "loads", parameters=[SUBDISTRICT_PARAMETER], responses=ImpactSerializer)
    def get(self, request, number: int):
        return Response(ImpactSerializer(services.draft_impact(self.get_draft(number))).data)


class DraftStaffMoveView(PlannerView):
    @extend_schema(summary="Choose a member's grid in the draft (overrules the proposal)",
                   parameters=[SUBDISTRICT_PARAMETER], request=StaffMoveInputSerializer,
                   responses=StaffMoveSerializer)
    def post(self, request, number: int):
        data = _valid(StaffMoveInputSerializer, request.data)
        version = self.get_version(number)  # a published one: the service's 409
        move = services.draft_staff_move_set(version_id=version.pk, member_id=data["member"],
                                             draft_grid_id=data["grid"], actor=request.user, clear=data["clear"])
        return Response({"member": data["member"], "grid": move.draft_grid_id if move else None,
                         "override": move is not None})


class DraftPublishView(PlannerView):
    @extend_schema(summary="Publish a draft from an effective time (default now)",
                   description="400 `problems` when the draft does not validate: the answer's `problems` lists them. "
                               "409 `stale` when the draft was saved since `revision` (with `since`, as a save); "
                               "409 `outdated` when a version was published after the draft was started.",
                   parameters=[SUBDISTRICT_PARAMETER], request=PublishInputSerializer, responses=PublishedSerializer)
    def post(self, request, number: int):
        data = _valid(PublishInputSerializer, request.data)
        version = self.get_version(number)  # a published one: the service's 409
        version = services.grid_version_publish(version_id=version.pk, base_revision=data["revision"],
                                                actor=request.user,
                                                effective_from=data["effective_from"] or timezone.now())
        return Response(PublishedSerializer(version).data)


# --- comparing, assigning ------------------------------------------------------------------------

class CompareView(PlannerView):
    @extend_schema(summary="Compare two versions grid by grid", parameters=[
        SUBDISTRICT_PARAMETER, OpenApiParameter("a", OpenApiTypes.INT, required=True),
        OpenApiParameter("b", OpenApiTypes.INT, required=True)], responses=CompareSerializer)
    def get(self, request):
        query = _valid(CompareQuerySerializer, request.query_params)
        a, b = self.get_version(query["a"]), self.get_version(query["b"])
        rows = services.version_compare(a=a, b=b)
        features = [{"type": "Feature", "id": r.code, "geometry": geojson(r.geometry),
                     "properties": {"code": r.code, "status": r.status, "area_change_m2": round(r.area_change_m2, 1)}}
                    for r in rows if r.geometry is not None]
        return Response(CompareSerializer({
            "a": a.number, "b": b.number, "changed": feature_collection(features),
            "grids": [{"code": r.code, "status": r.status, "area_change_m2": round(r.area_change_m2, 1),
                       "a_name": r.a_name, "b_name": r.b_name} for r in rows]}).data)


class AssignmentView(PlannerView):
    @extend_schema(summary="Grid workers and leaders with the grids they serve in the version in force",
                   parameters=[SUBDISTRICT_PARAMETER], responses=AssignmentListSerializer)
    def get(self, request):
        version, members = selectors.assignment_list(subdistrict=self.get_subdistrict())
        return Response(AssignmentListSerializer({"version": version.number if version else None,
                                                  "members": members}).data)

    @extend_schema(summary="Set the grids of the version in force that a member serves",
                   parameters=[SUBDISTRICT_PARAMETER], request=AssignmentInputSerializer,
                   responses=AssignmentSerializer)
    def post(self, request):
        data = _valid(AssignmentInputSerializer, request.data)
        subdistrict = self.get_subdistrict()
        member = services.member_grids_set(member_id=data["member"], grid_ids=data["grids"], actor=request.user,
                                           subdistrict=subdistrict)
        _version, members = selectors.assignment_list(subdistrict=subdistrict)
        row = next((m for m in members if m.pk == member.pk), None)
        if row is None:  # not a grid worker or leader, and no grid left
            member.version_grids = []
            row = member
        return Response(AssignmentSerializer(row).data)


# --- import and export ---------------------------------------------------------------------------

class ImportView(PlannerView):
    @extend_schema(summary="Import a grid file as a new draft (or check it: ?dry_run=1)",
                   description="A GeoJSON, GeoPackage or zipped Shapefile with the attributes code, name and "
                               "community (a community code); in EPSG:4326, 4490, 4549 or 3857. A file that "
                               "cannot be read is refused (400) with nothing written.",
                   parameters=[SUBDISTRICT_PARAMETER,
                               OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="Only read and validate.")],
                   request={"multipart/form-data": ImportInputSerializer},
                   responses={201: ImportedSerializer, 200: ImportCheckSerializer})
    def post(self, request):
        data = _valid(ImportInputSerializer, request.data)
        services.require_planner(request.user)
        subdistrict = self.get_subdistrict()
        upload = data["file"]
        if upload.size > interchange.MAX_BYTES:  # before reading it into memory
            raise interchange.ImportRefused(_("The file is larger than %(limit)d MB.")
                                            % {"limit": interchange.MAX_BYTES // 2**20})
        grids = interchange.read_grids(upload.read(), upload.name or "")
        if request.query_params.get("dry_run") in ("1", "true", "True"):
            sub, communities = services.sub_shapes(subdistrict.pk)
            problems = coverage.validate_grids(subdistrict=sub, communities=communities, grids=grids)
            features = [{"type": "Feature", "id": g.code, "geometry": geojson(g.boundary),
                         "properties": {"code": g.code, "name": g.name, "community": g.community}} for g in grids]
            return Response(ImportCheckSerializer({"grids": feature_collection(features),
                                                   "problems": [p.as_dict() for p in problems]}).data)
        version = services.draft_import(subdistrict=subdistrict, grids=grids, actor=request.user, label=data["label"])
        return Response({"number": version.number}, status=status.HTTP_201_CREATED)


class FileFormatNegotiation(DefaultContentNegotiation):
    """`?format=` names the file's format here (geojson, gpkg, shp), not a renderer: refusals are JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportSchema(AutoSchema):
    """The `format` query parameter is the file's format (declared by the view), not DRF's override."""

    def _get_format_parameters(self):
        return []


class ExportView(PlannerView):
    content_negotiation_class = FileFormatNegotiation
    schema = ExportSchema()

    @extend_schema(summary="A version's grids as a file", parameters=[
        SUBDISTRICT_PARAMETER,
        OpenApiParameter("format", OpenApiTypes.STR, enum=EXPORT_FORMATS, description="Default: geojson."),
        OpenApiParameter("crs", OpenApiTypes.INT, enum=EXPORT_CRS, description="EPSG code; default 4326.")],
        responses={(200, content_type): OpenApiTypes.BINARY for _driver, _ext, content_type
                   in interchange.FORMATS.values()})
    def get(self, request, number: int):
        version = self.get_version(number)
        fmt = request.query_params.get("format") or "geojson"
        raw_crs = request.query_params.get("crs") or "4326"
        if fmt not in EXPORT_FORMATS:
            raise DomainError(_("Unknown export format: geojson, gpkg or shp."), code="format")
        if raw_crs not in {str(c) for c in EXPORT_CRS}:
            raise DomainError(_("Export in EPSG:4326, 4549, 4490 or 3857."), code="crs")
        name = f"{version.subdistrict.code}-v{version.number}"
        content, filename, content_type = interchange.write_grids(interchange.grids_of_version(version), fmt,
                                                                  int(raw_crs), name=name)
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
