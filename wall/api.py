"""The wall map's read API (/api/v1/wall/<sub-district code>/...): the snapshot a wall map starts
from and reloads on resync, one incident's card, and the replay of a past day.

Staff roles only (config.roles.STAFF_ROLES; 403 for every other role and for an anonymous
request). An unknown sub-district, or an incident of another one, is a 404. Thin views: the
answers are built by `wall.selectors`; `wall.serializers` describes them for the schema.
"""

from django.http import Http404, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config.db_router import reads_from_replica
from config.permissions import HasRole
from config.renderers import CONTENT_TYPE, FastJSONRenderer, accepts_gzip
from config.roles import STAFF_ROLES
from dispatch.api import MemberMessageStatusSerializer, case_messages, order_messages, replacements_data
from geo.tenancy import works_in
from incidents import flows
from wall import selectors
from wall.serializers import (
    ReplayQuerySerializer,
    ReplaySerializer,
    StateQuerySerializer,
    WallIncidentCardSerializer,
    WallStateSerializer,
)
from wall.snapshot import wall_snapshot

CODE_PARAMETER = OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH, description="Sub-district code")


class WallView(APIView):
    permission_classes = [HasRole]
    allowed_roles = STAFF_ROLES
    renderer_classes = [FastJSONRenderer]  # routes come as JSON text from PostGIS (orjson.Fragment)

    def subdistrict(self, code: str) -> selectors.WallSubdistrict:
        """The sub-district of the path, when the user works there (geo/tenancy.py); else 404."""
        subdistrict = selectors.wall_subdistrict(code=code) if works_in(self.request.user, code) else None
        if subdistrict is None:
            raise NotFound(_("No such sub-district."))
        return subdistrict


class WallStateView(WallView):
    @extend_schema(
        summary="The wall map's snapshot",
        description="Every incident on the board (not closed or merged, and those closed today) with its orders "
                    "and routes, every active member with their status and position, the grids' load, today's "
                    "counts, the alarms to handle and the latest events. `last_event` is read first: resume the "
                    "wall socket (`ws/wall/<code>/?last_event=N`) from it. Shared by the walls for a second: "
                    "`after` (the newest event the wall has applied) asks for one not older than that event.",
        parameters=[CODE_PARAMETER, StateQuerySerializer], responses=WallStateSerializer,
    )
    def get(self, request, code: str):
        query = StateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        # Built once and shared by every wall of the sub-district for a second (wall/snapshot.py),
        # gzipped once for the walls that accept it.
        snapshot = wall_snapshot(subdistrict=self.subdistrict(code), language=translation.get_language(),
                                 after=query.validated_data["after"])
        if accepts_gzip(request):
            response = HttpResponse(snapshot.gzipped, content_type=CONTENT_TYPE)
            response.headers["Content-Encoding"] = "gzip"
        else:
            response = HttpResponse(snapshot.body, content_type=CONTENT_TYPE)
        patch_vary_headers(response, ("Accept-Encoding",))
        return response


class WallIncidentView(WallView):
    @extend_schema(summary="An incident's card on the wall map: as on the board, with its description and timeline",
                   parameters=[CODE_PARAMETER], responses=WallIncidentCardSerializer)
    def get(self, request, code: str, pk: int):
        card = selectors.wall_incident(subdistrict=self.subdistrict(code), incident_id=pk)
        if card is None:
            raise Http404
        # Who to send in place of a declined or late responder: one click from the card.
        card["replacements"] = replacements_data(request, pk, is_open=card["status"] in flows.OPEN_STATUSES)
        # Whether each person was reached: "told 14:02 · seen 14:03" under each one dispatched.
        messages = case_messages(request, pk)
        told, as_iso = order_messages(messages), serializers.DateTimeField().to_representation
        for order in card["orders"]:
            message = told.get(order["id"])
            order["told_at"] = as_iso(message.created_at) if message else None
            order["seen_at"] = as_iso(message.read_at) if message and message.read_at else None
        card["messages"] = MemberMessageStatusSerializer(messages, many=True).data
        return Response(card)


class WallReplayView(WallView):
    @extend_schema(
        summary="The replay of a day: its incidents, orders with routes, and the members' tracks",
        description="A local day (Asia/Shanghai), from 2000-01-01 to today; 400 with a message for a missing, "
                    "malformed, earlier or future date.",
        parameters=[CODE_PARAMETER, OpenApiParameter("date", OpenApiTypes.DATE, required=True,
                                                     description="YYYY-MM-DD")],
        responses=ReplaySerializer,
    )
    def get(self, request, code: str):
        subdistrict = self.subdistrict(code)
        query = ReplayQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        with reads_from_replica():  # a past day: a second of replica lag is no matter
            return Response(selectors.wall_replay(subdistrict=subdistrict, day=query.validated_data["date"]))
