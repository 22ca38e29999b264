"""The OpenAPI document and its Swagger UI, for logged-in staff only.

The document maps every endpoint, parameter and error of the system: it is for the staff roles,
not for responders or the public. Swagger UI's files come
from the drf-spectacular-sidecar package (settings.SPECTACULAR_SETTINGS, no CDN) and its start
script is a request of its own (SpectacularSwaggerSplitView), so that the page runs under the
Content-Security-Policy without inline scripts."""

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.permissions import HasRole, role_required
from config.roles import STAFF_ROLES, UserRole

# The staff roles, the planners (who edit the grids through the API) and the external systems'
# logins (whose integrators write to the API): not responders, departments or the public.
DOCS_ROLES = (*sorted(STAFF_ROLES), UserRole.PLANNER, UserRole.INTEGRATION)


class StaffSchemaView(SpectacularAPIView):
    """GET /api/schema/: 401/403 for anyone but staff."""

    permission_classes = [HasRole]
    allowed_roles = DOCS_ROLES


class StaffSwaggerView(SpectacularSwaggerSplitView):
    permission_classes = [HasRole]
    allowed_roles = DOCS_ROLES
    metadata_class = None  # OPTIONS: 405 (DRF's metadata rendered by the page's HTML renderer was a 500)


# A browser without a session goes to the login page (then back), a non-staff login gets 403.
schema_view = StaffSchemaView.as_view()
swagger_view = role_required(*DOCS_ROLES)(StaffSwaggerView.as_view(url_name="schema"))
