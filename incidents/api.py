"""The incident REST API (/api/v1/). Thin views: parse with a serializer, call one service (or
selector), render. Domain errors of the services become HTTP in config/exceptions.py (400, 403,
404, 409 with `{"detail", "code"}`); malformed input is a DRF 400 `{field: [messages]}`.

Row-level scoping is the selectors' business: a case the user may not see is a 404 for every
endpoint under incidents/{id}/, never a 403. Role checks: `allowed_roles` (HasRole) where the
roles are fixed, and always the services themselves.

The list (`GET incidents/`) is a GeoJSON FeatureCollection, since maps consume it; the detail and
every other answer are plain JSON objects with GeoJSON geometries where there is a point.

Every view whose POST changes state (here and in dispatch/api.py) lists `IdempotentMixin` first: it
honours the `Idempotency-Key` header (incidents/idempotency.py) — except the reveals (ID numbers,
callers' and parties' names and phones): each disclosure is logged again, never replayed from a store.
"""

from django.contrib.gis.geos import Point
from django.http import FileResponse, Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import TransitionRefused
from config.permissions import HasRole
from config.roles import COMMAND_ROLES, INTAKE_ROLES, REVEAL_ROLES, STAFF_ROLES, UserRole, has_role
from geo.datum import DATUM_HELP, DATUMS
from geo.gazetteer import address_search, grids_at_point, locate
from geo.tenancy import request_subdistrict
from incidents import api_support, photos, services
from incidents.idempotency import IdempotentMixin
from incidents.models import CallbackTask
from incidents.selectors import category_suggest, handover_return_counts, incident_detail, incident_queue
from incidents.serializers import (
    AddressMatchSerializer,
    CallbackCompleteInputSerializer,
    CallbackSerializer,
    CategoryInputSerializer,
    CategorySerializer,
    ChannelSerializer,
    ContactsRevealedSerializer,
    ContactsRevealInputSerializer,
    DuplicateQuerySerializer,
    DuplicateSerializer,
    IncidentDetailSerializer,
    IncidentFeatureSerializer,
    IntakeInputSerializer,
    IntakeResponseSerializer,
    LocateInputSerializer,
    LocationSerializer,
    PartyInputSerializer,
    PartySerializer,
    PointQuerySerializer,
    ReturnCountSerializer,
    RevealSerializer,
    SuggestionSerializer,
    UnitSerializer,
)

QUEUES = ("open", "needs_location", "handovers", "outside")
MERGE_ROLES = (*COMMAND_ROLES, UserRole.CALL_TAKER)

SUBDISTRICT_PARAMETER = OpenApiParameter(
    "subdistrict", OpenApiTypes.STR, description="Sub-district code, one of the user's; default: the user's only one, "
                                                 "or the one they chose last.")
DATUM_PARAMETER = OpenApiParameter("datum", OpenApiTypes.STR, enum=DATUMS, description=DATUM_HELP)


def _subdistrict(request):
    return request_subdistrict(request)  # one of the user's, else 404 (geo/tenancy.py)


def _visible_or_404(request, incident_id: int) -> None:
    if not api_support.incident_is_visible(user=request.user, incident_id=incident_id):
        raise Http404


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _detail_response(request, incident_id: int, *, changed: bool = False) -> Response:
    incident = incident_detail(user=request.user, incident_id=incident_id)
    if incident is None:
        if changed:  # done, but the change took the case out of the user's scope
            return Response({"id": incident_id, "detail": _("Done; the case is no longer in your view.")})
        raise Http404
    return Response(IncidentDetailSerializer(incident, context={"request": request}).data)


class RoleCheckedView(APIView):
    """Authenticated users holding one of `allowed_roles` (any role when it is None)."""

    permission_classes = [HasRole]


# --- incidents -----------------------------------------------------------------------------------

class IncidentListView(IdempotentMixin, RoleCheckedView):
    @property
    def allowed_roles(self):
        return INTAKE_ROLES if self.request.method == "POST" else None

    @extend_schema(
        summary="Incident queue (GeoJSON FeatureCollection)",
        parameters=[SUBDISTRICT_PARAMETER,
                    OpenApiParameter("queue", OpenApiTypes.STR, enum=QUEUES, description="Default: open.")],
        responses=IncidentFeatureSerializer(many=True),
    )
    def get(self, request):
        queue = request.query_params.get("queue") or "open"
        if queue not in QUEUES:
            raise ValidationError({"queue": [_("Unknown queue; one of: %(queues)s.") % {"queues": ", ".join(QUEUES)}]})
        incidents = incident_queue(user=request.user, subdistrict=_subdistrict(request), queue=queue)
        return Response(IncidentFeatureSerializer(incidents, many=True).data)

    @extend_schema(
        summary="Take a report from any channel",
        description="201 with the new case; 200 with the existing case when the channel's external id was "
                    "taken already or the report was linked to `link_to`.",
        request=IntakeInputSerializer,
        responses={201: IntakeResponseSerializer, 200: IntakeResponseSerializer},
    )
    def post(self, request):
        data = _valid(IntakeInputSerializer, request.data)
        result = services.incident_intake(
            channel=data["channel"], category=data["category"], description=data["description"], actor=request.user,
            location=data["location"], address_text=data["address"], external_id=data["external_id"],
            caller_name=data["caller_name"], caller_phone=data["caller_phone"], major=data["major"],
            reported_at=data["reported_at"], link_to=data["link_to"], subdistrict=data["subdistrict"],
            offices=data["offices"], deadline=data["deadline"],
        )
        if not result.created and not api_support.intake_retry_answerable(
                user=request.user, incident_id=result.incident.pk, channel=data["channel"],
                external_id=data["external_id"]):
            # The channel's external id names a case this user may not read (another system's): say
            # only that it is taken, never what it holds.
            raise TransitionRefused(_("This external id is taken already on this channel."), code="external_id_taken")
        context = {
            "created": result.created,
            "duplicates": api_support.incidents_only_visible(user=request.user, incidents=result.duplicates),
            "suggestions": category_suggest(result.incident.description),
        }
        return Response(IntakeResponseSerializer(result.incident, context=context).data,
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class IncidentDetailView(RoleCheckedView):
    @extend_schema(summary="One case with its timeline and the actions the user may take",
                   responses=IncidentDetailSerializer)
    def get(self, request, pk: int):
        return _detail_response(request, pk)


class IncidentLocateView(IdempotentMixin, RoleCheckedView):
    allowed_roles = INTAKE_ROLES

    @extend_schema(summary="Place a case of the needs-location queue on the map",
                   request=LocateInputSerializer, responses=IncidentDetailSerializer)
    def post(self, request, pk: int):
        _visible_or_404(request, pk)
        data = _valid(LocateInputSerializer, request.data)
        services.incident_locate(incident_id=pk, point=data["location"], actor=request.user)
        return _detail_response(request, pk, changed=True)


class IncidentCategoryView(IdempotentMixin, RoleCheckedView):
    allowed_roles = INTAKE_ROLES

    @extend_schema(summary="Change a case's category", request=CategoryInputSerializer,
                   responses=IncidentDetailSerializer)
    def post(self, request, pk: int):
        _visible_or_404(request, pk)
        data = _valid(CategoryInputSerializer, request.data)
        services.incident_set_category(incident_id=pk, category=data["category"], actor=request.user)
        return _detail_response(request, pk, changed=True)


class IncidentPartyView(IdempotentMixin, RoleCheckedView):
    @extend_schema(summary="Register a person involved (ID number answered masked)",
                   request=PartyInputSerializer, responses={201: PartySerializer})
    def post(self, request, pk: int):
        _visible_or_404(request, pk)
        data = _valid(PartyInputSerializer, request.data)
        party = services.party_register(incident_id=pk, actor=request.user, name=data["name"], phone=data["phone"],
                                        id_number=data["id_number"], role=data["role"])
        return Response(PartySerializer(party).data, status=status.HTTP_201_CREATED)


class PartyRevealView(RoleCheckedView):
    allowed_roles = REVEAL_ROLES

    @extend_schema(summary="The full ID number of a person (recorded in the timeline)",
                   request=None, responses=RevealSerializer)
    def post(self, request, pk: int):
        incident_id = api_support.party_incident_id(party_id=pk)
        if incident_id is None:
            raise Http404
        _visible_or_404(request, incident_id)
        return Response({"id_number": services.party_reveal(party_id=pk, actor=request.user)})


class IncidentContactsRevealView(RoleCheckedView):
    """Not idempotent, like the ID number's reveal: every disclosure is logged again, and the full
    values are never kept in the idempotency table."""

    @extend_schema(
        summary="The full names and phones of the case's callers and people involved (logged in the timeline)",
        description="Masked everywhere else. For the command room, dispatchers, leaders and the member holding a "
                    "current order of the case; 403 for other roles, 404 when the user may not see the case or a "
                    "person is not of this case. Each call appends `personal_data_revealed` (who and what, never "
                    "the values) to the timeline.",
        request=ContactsRevealInputSerializer, responses=ContactsRevealedSerializer)
    def post(self, request, pk: int):
        _visible_or_404(request, pk)
        data = _valid(ContactsRevealInputSerializer, request.data)
        revealed = services.incident_contacts_reveal(incident_id=pk, actor=request.user, caller=data["caller"],
                                                     party_ids=data["parties"], callback_ids=data["callbacks"])
        response = Response(ContactsRevealedSerializer(revealed).data)
        response["Cache-Control"] = "no-store"
        return response


class DuplicateCheckView(RoleCheckedView):
    allowed_roles = INTAKE_ROLES

    @extend_schema(
        summary="Likely duplicates of a report not yet saved",
        parameters=[OpenApiParameter("lon", OpenApiTypes.NUMBER, required=True),
                    OpenApiParameter("lat", OpenApiTypes.NUMBER, required=True), DATUM_PARAMETER,
                    OpenApiParameter("category", OpenApiTypes.STR, description="Category code"),
                    OpenApiParameter("subdistrict", OpenApiTypes.STR,
                                     description="Sub-district code; default: the one the point lies in.")],
        responses=DuplicateSerializer(many=True),
    )
    def get(self, request):
        data = _valid(DuplicateQuerySerializer, request.query_params)
        point = Point(data["lon"], data["lat"], srid=4326)
        where = locate(point, subdistrict=_subdistrict(request) if request.query_params.get("subdistrict") else None)
        found = services.duplicate_candidates(subdistrict=where.subdistrict, point=point, category=data["category"])
        found = api_support.incidents_only_visible(user=request.user, incidents=found)
        return Response(DuplicateSerializer(found, many=True).data)


# --- on-site photos -------------------------------------------------------------------------------

class PhotoView(RoleCheckedView):
    """The bytes of an on-site photo, to a user who may see its case (404 otherwise, as for the case
    itself). Never cached by shared caches; MEDIA_ROOT is never served as static files."""

    @extend_schema(
        summary="An on-site photo (thumbnail, large rendition or the original)",
        description="`thumb` and `large` are JPEG renditions without metadata; `original` is the file as "
                    "uploaded, EXIF and all (where it was taken): for the command roles only (403 for others). "
                    "404 when the user may not see the photo's case.",
        parameters=[OpenApiParameter("size", OpenApiTypes.STR, enum=photos.SIZES, description="Default: large.")],
        responses={(200, "image/*"): OpenApiTypes.BINARY},
    )
    def get(self, request, pk: int):
        size = request.query_params.get("size") or "large"
        if size not in photos.SIZES:
            raise ValidationError({"size": [_("Unknown size; one of: %(sizes)s.") % {"sizes": ", ".join(photos.SIZES)}]})
        photo = photos.photo_get(photo_id=pk)
        if photo is None:
            raise Http404
        _visible_or_404(request, photo.incident_id)
        if size == "original" and not has_role(request.user, *COMMAND_ROLES):
            raise PermissionDenied(_("Only the command room sees the original photo (it tells where it was taken)."))
        try:
            handle, content_type = photos.photo_file(photo, size)
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, content_type=content_type)
        response["Cache-Control"] = "private, max-age=86400"
        response["X-Content-Type-Options"] = "nosniff"
        extension = {"image/png": "png", "image/webp": "webp"}.get(content_type, "jpg")
        response["Content-Disposition"] = f'inline; filename="photo-{photo.pk}-{size}.{extension}"'
        return response


# --- pick-lists ----------------------------------------------------------------------------------

class CategoryListView(RoleCheckedView):
    @extend_schema(summary="Incident categories", responses=CategorySerializer(many=True))
    def get(self, request):
        return Response(CategorySerializer(api_support.category_list(), many=True).data)


class CategorySuggestView(RoleCheckedView):
    @extend_schema(summary="Categories suggested by the keywords of a description",
                   parameters=[OpenApiParameter("text", OpenApiTypes.STR, required=True)],
                   responses=SuggestionSerializer(many=True))
    def get(self, request):
        text = (request.query_params.get("text") or "")[:services.MAX_DESCRIPTION]
        return Response(SuggestionSerializer(category_suggest(text), many=True).data)


class ChannelListView(RoleCheckedView):
    @extend_schema(summary="Channels in use", responses=ChannelSerializer(many=True))
    def get(self, request):
        return Response(ChannelSerializer(api_support.channel_list(), many=True).data)


class UnitListView(RoleCheckedView):
    @extend_schema(summary="Units of a sub-district (transfer and assignment pickers)",
                   parameters=[SUBDISTRICT_PARAMETER], responses=UnitSerializer(many=True))
    def get(self, request):
        return Response(UnitSerializer(api_support.unit_list(subdistrict=_subdistrict(request)), many=True).data)


# --- call-backs and hand-overs -------------------------------------------------------------------

class CallbackListView(RoleCheckedView):
    allowed_roles = COMMAND_ROLES

    @extend_schema(summary="Call-backs of a sub-district",
                   parameters=[SUBDISTRICT_PARAMETER,
                               OpenApiParameter("state", OpenApiTypes.STR, enum=CallbackTask.State.values)],
                   responses=CallbackSerializer(many=True))
    def get(self, request):
        state = request.query_params.get("state") or None
        if state is not None and state not in CallbackTask.State.values:
            raise ValidationError({"state": [_("Unknown call-back state.")]})
        tasks = api_support.callback_list(subdistrict=_subdistrict(request), state=state)
        # Masked: the desk reveals the number it is calling (POST incidents/{id}/reveal/, logged).
        return Response(CallbackSerializer(tasks, many=True).data)


class CallbackCompleteView(IdempotentMixin, RoleCheckedView):
    allowed_roles = COMMAND_ROLES

    @extend_schema(summary="Record a call-back (dissatisfied with `reopen` reopens the case)",
                   request=CallbackCompleteInputSerializer, responses=CallbackSerializer)
    def post(self, request, pk: int):
        data = _valid(CallbackCompleteInputSerializer, request.data)
        task = services.callback_complete(callback_id=pk, actor=request.user, state=data["state"],
                                          satisfaction=data["satisfaction"], note=data["note"], reopen=data["reopen"])
        return Response(CallbackSerializer(task).data)


class HandoverReturnsView(RoleCheckedView):
    allowed_roles = STAFF_ROLES

    @extend_schema(summary="Returned (bounced) hand-overs per unit", parameters=[SUBDISTRICT_PARAMETER],
                   responses=ReturnCountSerializer(many=True))
    def get(self, request):
        rows = handover_return_counts(subdistrict=_subdistrict(request))
        return Response(ReturnCountSerializer(rows, many=True).data)


# --- where ---------------------------------------------------------------------------------------

class GazetteerView(RoleCheckedView):
    @extend_schema(summary="Gazetteer: addresses matching a text, best first",
                   parameters=[SUBDISTRICT_PARAMETER, OpenApiParameter("q", OpenApiTypes.STR, required=True)],
                   responses=AddressMatchSerializer(many=True))
    def get(self, request):
        subdistrict = _subdistrict(request)
        text = (request.query_params.get("q") or "")[:256]
        matches = address_search(subdistrict, text)
        rows = [(m, next(iter(grids_at_point(subdistrict, m.address.location)), None)) for m in matches]
        return Response(AddressMatchSerializer(rows, many=True).data)


class LocateView(RoleCheckedView):
    @extend_schema(summary="The sub-district, grid and community of a WGS 84 point",
                   parameters=[OpenApiParameter("lon", OpenApiTypes.NUMBER, required=True),
                               OpenApiParameter("lat", OpenApiTypes.NUMBER, required=True), DATUM_PARAMETER,
                               OpenApiParameter("subdistrict", OpenApiTypes.STR,
                                                description="Sub-district code; default: the one the point lies in.")],
                   responses=LocationSerializer)
    def get(self, request):
        data = _valid(PointQuerySerializer, request.query_params)
        subdistrict = _subdistrict(request) if request.query_params.get("subdistrict") else None
        return Response(LocationSerializer(locate(Point(data["lon"], data["lat"], srid=4326),
                                                  subdistrict=subdistrict)).data)
