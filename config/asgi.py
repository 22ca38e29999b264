"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.admission import AdmissionGate  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from config.socket_db import SocketAuthStack  # noqa: E402
from config.ws_origin import ExactOriginValidator  # noqa: E402
from wall.relay import ListenOnConnect  # noqa: E402
from wall.snapshot_asgi import SharedSnapshotShortcut  # noqa: E402

application = ProtocolTypeRouter(
    {
        # At most so many requests at once per lane; past that a quick 503 (config/admission.py). A
        # wall's snapshot that is the shared bytes of the last second is answered before the gate,
        # without a thread or Django's request stack (wall/snapshot_asgi.py).
        "http": SharedSnapshotShortcut(AdmissionGate(django_asgi_app)),
        # The origin exactly (scheme, host, port) before the session is read: config/ws_origin.py.
        # Every socket makes sure this process hears what workers publish without Redis (wall/relay.py).
        "websocket": ListenOnConnect(ExactOriginValidator(SocketAuthStack(URLRouter(websocket_urlpatterns)))),
    }
)
