"""Members of the linkage forces as a GeoJSON map layer (read-only).

Staff roles (config.roles.STAFF_ROLES) see every member of the sub-district; a responder sees
only the member linked to their own user (another member's detail is a 404, not a 403, so ids
of others are not confirmed); every other role is refused (403)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from config.permissions import MEMBER_MAP_ROLES, HasRole, is_staff_role
from dispatch import selectors
from dispatch.models import Member
from geo.api import SUBDISTRICT_PARAMETER, SubdistrictScopedMixin
from geo.selectors import boundary_version_in_force
from geo.serializers import geometry_field


class MemberMapSerializer(GeoFeatureModelSerializer):
    """A member at their last known position, else at home."""

    # Expects the annotations of `dispatch.selectors.member_map_list`. The geometry is the
    # annotated `map_point`; the field keeps the name of the model's `home` PointField so that
    # the OpenAPI schema knows it is a Point.
    home = geometry_field(source="map_point")
    force_display = serializers.CharField(source="get_force_display", read_only=True)
    unit = serializers.CharField(source="unit.name", read_only=True)
    on_duty = serializers.BooleanField(read_only=True)
    position_recorded_at = serializers.DateTimeField(read_only=True)
    grids = serializers.SerializerMethodField()

    class Meta:
        model = Member
        geo_field = "home"
        fields = [
            "id",
            "code",
            "name",
            "force",
            "force_display",
            "unit",
            "on_duty",
            "grids",
            "position_recorded_at",
        ]

    def get_grids(self, member) -> list[str]:
        return [grid.code for grid in member.map_grids]


class MemberMapMixin(SubdistrictScopedMixin):
    permission_classes = [HasRole]
    allowed_roles = MEMBER_MAP_ROLES
    pagination_class = None
    serializer_class = MemberMapSerializer

    def get_queryset(self):
        subdistrict = self.get_subdistrict()
        user = self.request.user
        return selectors.member_map_list(
            subdistrict=subdistrict,
            grid_version=boundary_version_in_force(subdistrict=subdistrict),
            only_user=None if is_staff_role(user) else user,
        )


@extend_schema_view(get=extend_schema(parameters=[SUBDISTRICT_PARAMETER]))
class MemberListView(MemberMapMixin, generics.ListAPIView):
    """Members at their last known position (else home), with the on-duty-now flag."""


@extend_schema_view(get=extend_schema(parameters=[SUBDISTRICT_PARAMETER]))
class MemberDetailView(MemberMapMixin, generics.RetrieveAPIView):
    """One member as a GeoJSON Feature."""
