from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config import api_docs
from config import schema as _schema  # noqa: F401 - registers the OpenAPI document's extensions

urlpatterns = [
    path("", include("frontend.urls")),
    path("", include("frontend.console_urls")),
    path("wall/", include("frontend.wall_urls")),
    path("m/", include("frontend.mobile_urls")),  # the responders' app
    path("dept/", include("frontend.dept_urls")),  # the department queue
    path("planner/", include("frontend.planner_urls")),  # the planners' page (grid drafts)
    path("reports/", include("frontend.reports_urls")),  # the governance reports' pages
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/geo/", include("geo.urls")),
    path("api/v1/tiles/", include("geo.tile_urls")),  # the district map's vector tiles
    path("api/v1/dispatch/", include("dispatch.urls")),
    path("api/v1/wall/", include("wall.urls")),
    path("api/v1/planner/", include("planner.urls")),  # the planners' grid versions
    path("api/v1/reports/", include("reports.urls")),  # the governance reports
    path("api/v1/", include("dispatch.position_urls")),
    path("api/v1/", include("dispatch.member_urls")),  # the responders' app: /api/v1/m/
    path("api/v1/dept/", include("incidents.dept_urls")),  # the department queue: /api/v1/dept/
    path("api/v1/", include("incidents.urls")),
    path("open311/v2/", include("incidents.open311_urls")),
    path("api/schema/", api_docs.schema_view, name="schema"),  # staff only
    path("api/docs/", api_docs.swagger_view, name="api-docs"),
]

# An unknown address under /api/ or /open311/ answers JSON, as the APIs' own 404s do.
handler404 = "config.exceptions.not_found"
# An exhausted database pool answers 503 with Retry-After, not 500.
handler500 = "config.exceptions.server_error"

admin.site.site_header = "GridLink 网事警情联动指挥平台"
admin.site.site_title = "GridLink"
