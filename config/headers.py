"""Response headers that tell the browser what our pages may do: the Content-Security-Policy
(settings.CONTENT_SECURITY_POLICY, django-csp) and the Permissions-Policy.

The policy's sources are fixed in the settings but for one: the live sockets. CSP Level 3 lets
'self' cover ws:/wss: to the page's own host, older browsers (and some phone web views) do not, so
connect-src names this host's socket origin on every response, for the scheme the page came by."""

from csp.middleware import CSPMiddleware, PolicyParts
from django.core.exceptions import DisallowedHost
from django.utils.deprecation import MiddlewareMixin


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with `ws(s)://<this host>` added to connect-src."""

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        try:
            host = request.get_host()
        except DisallowedHost:
            return parts  # answered 400 anyway; nothing of ours on that page
        socket_origin = f"{'wss' if request.is_secure() else 'ws'}://{host}"
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", []), socket_origin]
        parts.update = update
        return parts


# Browser features our pages use: the position and the camera (on-site photos) in the responders'
# app (/m/), full screen for the wall map. Everything else is off, for our pages and any frame.
PERMISSIONS_POLICY = ", ".join([
    "geolocation=(self)",
    "camera=(self)",
    "fullscreen=(self)",
    "microphone=()",
    "payment=()",
    "usb=()",
    "midi=()",
    "accelerometer=()",
    "gyroscope=()",
    "magnetometer=()",
    "display-capture=()",
])


class PermissionsPolicyMiddleware(MiddlewareMixin):
    def process_response(self, request, response):
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
