"""GridLink settings, read from the environment (django-environ).

Every variable is listed in `.env.example`. A `.env` file at the project root, written by
`make setup` for local development, is read when present; real environment variables win.

Without DATABASE_URL the project-local PostGIS cluster under `var/pg` (started by
`scripts/pg-local`) is used, over its Unix socket. With DEBUG off there are no defaults for
secrets: SECRET_KEY must be set.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY") if not DEBUG else env.str("SECRET_KEY", default="dev-only-not-secret")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by us (no CDN)
    "axes",  # login throttling and lockout (config/auth.py)
    "csp",
    "channels",
    "leaflet",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "audit",
    "geo",
    "dispatch",
    "incidents",
    "planner",
    "reports",
    "frontend",
    "wall",
    "fixtures",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.LanguageMiddleware",
    # NUL characters in the path, query, headers or a form: 400 before anything looks them up.
    "config.middleware.BadInputMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.headers.ContentSecurityPolicyMiddleware",
    "config.headers.PermissionsPolicyMiddleware",
    "config.auth.LoginBusyMiddleware",
    # After the others, as django-axes asks: it turns a lockout flagged during the login into its answer.
    "axes.middleware.AxesMiddleware",
    # A page about no sub-district for a user of several: the chooser (geo/tenancy.py).
    "frontend.middleware.SubdistrictChoiceMiddleware",
    # Who and from which page, for the audit triggers (audit/models.py): after authentication. Last
    # because it can only run synchronously: Django then runs the whole chain in the request's
    # thread. Anywhere else the middleware inside it ran on the event loop, each hopping to a thread
    # and back for its request and its response — half the server's time under load.
    "pghistory.middleware.HistoryMiddleware",
]

# The audit trail (audit/models.py): database triggers record every change of the configuration
# (members, units, shifts, rules, categories, users and roles), append-only; the admin shows it.
PGHISTORY_APPEND_ONLY = True
PGHISTORY_ADMIN_MODEL = "audit.AuditEvent"
PGHISTORY_ADMIN_CLASS = "geo.admin.TenantAuditEventsAdmin"  # audit.admin.AuditEventsAdmin, scoped to the tenant
PGHISTORY_ADMIN_ALL_EVENTS = True
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")  # reads change nothing on record

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _local_database() -> dict:
    """The project-local cluster of scripts/pg-local: Unix socket only, trust auth."""
    return {
        "ENGINE": "django.contrib.gis.db.backends.postgis",
        "NAME": env.str("PGDATABASE", default="gridlink"),
        "USER": "postgres",
        "HOST": str(VAR_DIR / "pg" / "run"),
        "PORT": "5432",
    }


if "DATABASE_URL" in env:
    DATABASES = {"default": env.db_url("DATABASE_URL", engine="django.contrib.gis.db.backends.postgis")}
else:
    DATABASES = {"default": _local_database()}
DATABASES["default"].setdefault("TEST", {})
# Parallel developers or CI runs on one server keep their test databases apart.
DATABASES["default"]["TEST"]["NAME"] = env.str("TEST_DATABASE_NAME", default="test_gridlink")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# A connection pool (psycopg 3's, through Django): under ASGI every request runs in a thread of its
# own, so persistent connections cannot be kept, and a fresh PostgreSQL backend costs several
# milliseconds before its first spatial query. DB_POOL_MAX_SIZE=0 turns the pool off (e.g. behind
# PgBouncer). With psycopg 3 installed Django uses it; psycopg2 stays for tools and tests.
# Admission (config/admission.py): HTTP requests run at once per server process, by lane, and how
# long one may wait for a place before it is answered 503 with Retry-After.
HTTP_CONCURRENCY = env.int("HTTP_CONCURRENCY", default=8)  # intake, dispatch, recommendations, pages, phones
HTTP_HEAVY_CONCURRENCY = env.int("HTTP_HEAVY_CONCURRENCY", default=2)  # replays, the schema
# Wall snapshots: most are the shared bytes of the last second (wall/snapshot.py), a build at a time.
HTTP_SNAPSHOT_CONCURRENCY = env.int("HTTP_SNAPSHOT_CONCURRENCY", default=6)
LOGIN_HASH_CONCURRENCY = env.int("LOGIN_HASH_CONCURRENCY", default=1)
# Logins wait in the gate (no thread, no connection), not for a password-check slot in a thread.
HTTP_LOGIN_CONCURRENCY = env.int("HTTP_LOGIN_CONCURRENCY", default=LOGIN_HASH_CONCURRENCY)
HTTP_QUEUE_WAIT_SECONDS = env.float("HTTP_QUEUE_WAIT_SECONDS", default=5.0)
HTTP_QUEUE_MAX = env.int("HTTP_QUEUE_MAX", default=1000)  # per lane
# A login waits longer: at a shift change a queue of logins is served one password check at a time.
HTTP_LOGIN_WAIT_SECONDS = env.float("HTTP_LOGIN_WAIT_SECONDS", default=20.0)
HTTP_RETRY_AFTER_SECONDS = env.int("HTTP_RETRY_AFTER_SECONDS", default=2)
# The websockets' consumers (and the relay listener) use connections of their own beside the lanes.
WS_DB_CONNECTIONS = env.int("WS_DB_CONNECTIONS", default=4)
# The pool holds a connection for every request let through and the sockets' share: a request
# never waits for a connection (the server logs a warning when it is set smaller).
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=HTTP_CONCURRENCY + HTTP_HEAVY_CONCURRENCY
                           + HTTP_SNAPSHOT_CONCURRENCY + HTTP_LOGIN_CONCURRENCY + WS_DB_CONNECTIONS)
if DB_POOL_MAX_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
    }
# A PostgreSQL streaming replica for the read-only paths (config/db_router.py: the wall snapshot,
# the replay, the reports, the map layers); writes and every other read stay on `default`. In tests
# it mirrors `default` (no test database of its own) and the router leaves it unused.
if "DATABASE_REPLICA_URL" in env:
    DATABASES["replica"] = env.db_url("DATABASE_REPLICA_URL", engine="django.contrib.gis.db.backends.postgis")
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    if "pool" in DATABASES["default"].get("OPTIONS", {}):
        DATABASES["replica"].setdefault("OPTIONS", {})["pool"] = dict(DATABASES["default"]["OPTIONS"]["pool"])
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["config.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channels: in-memory layer for one process, channels-redis when REDIS_URL is set; both number each
# group's messages, so that a socket sees one its layer dropped and its client resyncs
# (config/channel_layers.py, config/live_gaps.py). Sized (channels' defaults: 100 and 60 s):
# CHANNELS_CAPACITY, the messages one channel holds before the layer drops new ones — with
# channels-redis one channel per server process, shared by all its sockets, so a burst (a grid
# version published to 700 phones is 700 group messages at once) must fit; CHANNELS_EXPIRY, the
# seconds a message waits for its socket before it is dropped.
CHANNELS_CAPACITY = env.int("CHANNELS_CAPACITY", default=2000)
CHANNELS_EXPIRY = env.int("CHANNELS_EXPIRY", default=60)
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # channels-redis waits for messages with blocking pops of 5 s; redis-py 8 reads with a 5 s
    # timeout by default, which tore idle sockets down every few seconds (channels_redis issue 422).
    # The client timeout stays above the pop's, and still catches a dead connection.
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "config.channel_layers.RedisChannelLayer",
                    "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
                               "capacity": CHANNELS_CAPACITY, "expiry": CHANNELS_EXPIRY}}
    }
else:
    # Channels' in-memory layer with an expiry sweep that does not grow with the open sockets.
    CHANNEL_LAYERS = {"default": {"BACKEND": "config.channel_layers.InMemoryChannelLayer",
                                  "CONFIG": {"capacity": CHANNELS_CAPACITY, "expiry": CHANNELS_EXPIRY}}}

# Passwords: PBKDF2-SHA256 as Django's default, computed on threads of lower CPU priority
# (config/auth.py); Django's own hashers follow, to check and upgrade older hashes.
PASSWORD_HASHERS = [
    "config.auth.NicePBKDF2PasswordHasher",  # in place of Django's: one hasher per algorithm name
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "frontend:map"
LOGOUT_REDIRECT_URL = "login"

# Logins (config/auth.py). django-axes refuses a user name after LOGIN_FAILURE_LIMIT failures from
# one address, and an address after LOGIN_ADDRESS_FAILURE_LIMIT failures over all names, for
# LOGIN_COOLOFF_MINUTES (an administrator unlocks sooner: Axes › Access attempts in the admin). At
# most LOGIN_HASH_CONCURRENCY password checks (PBKDF2, ~0.6 s of CPU each) run at once per server
# process; a login that waits LOGIN_HASH_WAIT_SECONDS for a slot is answered 503 with Retry-After.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before any hashing
    "config.auth.HashLimitedBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=30)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "config.auth.LoginAttemptHandler"
AXES_LOCKOUT_CALLABLE = "config.auth.lockout_response"
AXES_CLIENT_IP_CALLABLE = "config.auth.client_ip"
AXES_RESET_ON_SUCCESS = True
LOGIN_HASH_WAIT_SECONDS = env.float("LOGIN_HASH_WAIT_SECONDS", default=3.0)
LOGIN_BUSY_RETRY_AFTER_SECONDS = 5
# Reverse proxies in front of the server that append to X-Forwarded-For (0: clients connect
# directly). The client's address for the lockout is taken from there (config.auth.client_ip).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# A session lasts a shift (SESSION_HOURS after the login), not Django's 14 days; logging out
# deletes it on the server.
SESSION_COOKIE_AGE = env.int("SESSION_HOURS", default=12) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=False)

# Simplified Chinese by default, English available; times in Asia/Shanghai.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [
    BASE_DIR / "frontend" / "static",
    # Browser libraries come from npm (frontend/package.json + lock file), never from a CDN.
    ("vendor/leaflet", BASE_DIR / "frontend" / "node_modules" / "leaflet" / "dist"),
    ("vendor/echarts", BASE_DIR / "frontend" / "node_modules" / "echarts" / "dist"),
    ("vendor/geoman", BASE_DIR / "frontend" / "node_modules" / "@geoman-io" / "leaflet-geoman-free" / "dist"),
    ("vendor/leaflet-heat", BASE_DIR / "frontend" / "node_modules" / "leaflet.heat" / "dist"),
    ("vendor/maplibre", BASE_DIR / "frontend" / "node_modules" / "maplibre-gl" / "dist"),  # the district map
]
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Open311 reads need no key (the spec's rule): key-less reads are throttled per client address
# (incidents/open311.py), e.g. "60/min"; keyed reads are not.
OPEN311_KEYLESS_RATE = env.str("OPEN311_KEYLESS_RATE", default="60/min")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    # Bodies checked on arrival (depth of JSON, NUL characters): config/parsers.py.
    "DEFAULT_PARSER_CLASSES": ["config.parsers.CheckedJSONParser", "config.parsers.CheckedFormParser",
                               "config.parsers.CheckedMultiPartParser"],
    "DEFAULT_METADATA_CLASS": "config.metadata.ActionMetadata",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "GridLink API",
    "DESCRIPTION": "网事警情联动指挥平台 API",
    "VERSION": "1",
    # Choice sets shown by more than one serializer get one stable name.
    "ENUM_NAME_OVERRIDES": {"DispatchOrderStateEnum": "dispatch.models.DispatchOrder.State",
                            "IncidentStatusEnum": "incidents.models.Status",
                            "DatumEnum": "geo.datum.DATUMS"},
    # Open311's errors are lists (`[{"code", "description"}]`), as its answers are: a `many=True`
    # serializer declared for a 4xx is a list in the document too.
    "ENABLE_LIST_MECHANICS_ON_NON_2XX": True,
    # Every operation's refusals (400/401/403/404/409/422) with the error body, in one place.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "config.schema.declare_error_responses"],
    # Swagger UI from the drf-spectacular-sidecar package (no CDN), its start script a file of its
    # own (config/api_docs.py: no inline script under the CSP), no call to swagger.io's validator.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# Map: our own layers are the offline basemap. TILE_URL adds a raster tile server
# (intranet or Tianditu); TILE_ATTRIBUTION is shown with it.
TILE_URL = env.str("TILE_URL", default="")
TILE_ATTRIBUTION = env.str("TILE_ATTRIBUTION", default="")
# The datum of TILE_URL's tiles (geo.datum: WGS84, GCJ02 for AMap/Tencent-style tiles, BD09): a point
# picked on them is sent with it and converted to WGS 84 by the server.
TILE_DATUM = env.str("TILE_DATUM", default="WGS84")
if TILE_DATUM not in ("WGS84", "GCJ02", "BD09"):
    raise environ.ImproperlyConfigured(f"TILE_DATUM must be WGS84, GCJ02 or BD09, not {TILE_DATUM!r}.")
LEAFLET_CONFIG: dict[str, Any] = {
    "DEFAULT_CENTER": (30.28, 120.00),
    "DEFAULT_ZOOM": 13,
    "TILES": [(TILE_ATTRIBUTION or "tiles", TILE_URL, {"attribution": TILE_ATTRIBUTION})] if TILE_URL else [],
    "RESET_VIEW": False,
}


def _tile_source(url: str) -> list[str]:
    """TILE_URL's origin as a CSP source; a `{s}` sub-domain becomes a wildcard (t{s}.x.cn: *.x.cn)."""
    if not url:
        return []
    parts = urlsplit(url)
    labels = parts.netloc.split(".")
    host = ".".join("*" if "{" in label else label for label in labels)
    return [f"{parts.scheme}://{host}" if parts.scheme else host]


# Content-Security-Policy (django-csp 4; config/headers.py adds this host's ws:/wss: per request).
# Scripts only from our own files: no inline script, no eval (data reach scripts by json_script,
# which the browser does not run). Inline styles stay allowed: Leaflet and ECharts position their
# elements with style attributes. Images also from data:/blob: (photo previews) and TILE_URL.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *_tile_source(TILE_URL)],
        "connect-src": ["'self'"],
        "worker-src": ["'self'"],  # the /m/ app's service worker
        "manifest-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    },
}

# Demo logins written by `manage.py seed_demo`, printed by `make run`.
DEMO_CREDENTIALS_FILE = VAR_DIR / "demo-logins.txt"

# GDAL 3.6 (Debian 12) cannot block file/network access from spatial references; GridLink
# only reads GeoJSON/WKT it validates itself, never remote references.
# HSTS preload (security.W021) asks browsers to hard-code the domain: intranet names are never on
# that list, and the request could not be taken back for the parent domain's other hosts.
SILENCED_SYSTEM_CHECKS = ["gis.W001", "security.W021"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# HTTPS. With DEBUG off `manage.py check --deploy` is clean (tests/config/test_headers.py): HTTP is
# redirected to HTTPS, HSTS for a year, cookies only over HTTPS. Each is a variable of its own, all
# off with DEBUG (`make run`, the browser tests' servers: plain http on 127.0.0.1). Behind a proxy
# that ends TLS set SECURE_PROXY_SSL_HEADER (e.g. HTTP_X_FORWARDED_PROTO,https) — and make sure the
# proxy overwrites that header; uvicorn already trusts X-Forwarded-Proto from 127.0.0.1.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_PROXY_SSL_HEADER = env.tuple("SECURE_PROXY_SSL_HEADER", default=None) or None
if SECURE_PROXY_SSL_HEADER is not None and len(SECURE_PROXY_SSL_HEADER) != 2:
    raise environ.ImproperlyConfigured("SECURE_PROXY_SSL_HEADER is HEADER,value, e.g. HTTP_X_FORWARDED_PROTO,https.")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Intake: open incidents this near, this recent (and, if set, of the same category) are offered
# as likely duplicates of a new report.
INTAKE_DUPLICATE_RADIUS_M = env.int("INTAKE_DUPLICATE_RADIUS_M", default=300)
INTAKE_DUPLICATE_WINDOW_MINUTES = env.int("INTAKE_DUPLICATE_WINDOW_MINUTES", default=180)
INTAKE_DUPLICATE_SAME_CATEGORY = env.bool("INTAKE_DUPLICATE_SAME_CATEGORY", default=False)
# Times a report brings in through the API (incidents/validators.py `reported_at_check`, `deadline_check`): it may be
# back-dated at most INTAKE_BACKDATE_MAX_HOURS and lie at most INTAKE_CLOCK_SKEW_SECONDS ahead of
# the server's clock; its deadline lies after it and within INTAKE_DEADLINE_MAX_DAYS of it.
INTAKE_BACKDATE_MAX_HOURS = env.int("INTAKE_BACKDATE_MAX_HOURS", default=72)
INTAKE_CLOCK_SKEW_SECONDS = env.int("INTAKE_CLOCK_SKEW_SECONDS", default=300)
INTAKE_DEADLINE_MAX_DAYS = env.int("INTAKE_DEADLINE_MAX_DAYS", default=366)
# Result callbacks to the district centre: first retry after this many seconds, doubling, capped.
FEEDBACK_RETRY_BASE_SECONDS = env.int("FEEDBACK_RETRY_BASE_SECONDS", default=30)
FEEDBACK_RETRY_MAX_SECONDS = env.int("FEEDBACK_RETRY_MAX_SECONDS", default=3600)
FEEDBACK_TIMEOUT_SECONDS = env.float("FEEDBACK_TIMEOUT_SECONDS", default=5.0)
# Reaching a person (dispatch/notify.py, dispatch/notifier.py): a message to a member not read in
# the app within NOTIFY_GRACE_SECONDS is sent through the outbound gateway (SMS or a government
# messaging app) by `manage.py run_notifier`; without NOTIFY_GATEWAY_URL it goes to the outbox (the
# log "gridlink.outbox") instead. The text is NOTIFY_TEMPLATE with {title} and {body}.
NOTIFY_GATEWAY_URL = env.str("NOTIFY_GATEWAY_URL", default="")
NOTIFY_GATEWAY_TOKEN = env.str("NOTIFY_GATEWAY_TOKEN", default="")
NOTIFY_TEMPLATE = env.str("NOTIFY_TEMPLATE", default="【网事警情】{title}：{body}")
NOTIFY_GRACE_SECONDS = env.int("NOTIFY_GRACE_SECONDS", default=60)
NOTIFY_RETRY_BASE_SECONDS = env.int("NOTIFY_RETRY_BASE_SECONDS", default=15)
NOTIFY_RETRY_MAX_SECONDS = env.int("NOTIFY_RETRY_MAX_SECONDS", default=900)
NOTIFY_TIMEOUT_SECONDS = env.float("NOTIFY_TIMEOUT_SECONDS", default=5.0)
# A claimed message is leased for 2 x NOTIFY_TIMEOUT_SECONDS per message claimed plus this margin.
NOTIFY_LEASE_MARGIN_SECONDS = env.float("NOTIFY_LEASE_MARGIN_SECONDS", default=30.0)

# Dispatch recommendation (dispatch/recommend.py). "At once" (第一时间) as minutes: the deadline of
# departments, stations and, on major incidents, the leaders.
DISPATCH_AT_ONCE_MINUTES = env.int("DISPATCH_AT_ONCE_MINUTES", default=10)
# Rules with an "only before" time (the 21:30 rule) apply from this local time of day until then.
DISPATCH_DAY_STARTS = env.str("DISPATCH_DAY_STARTS", default="06:00")
# Live orders (on cases still being handled on site) a member may carry before they are no longer
# proposed first: a default and per-force overrides ("police=3,grid_worker=2").
DISPATCH_LOAD_LIMIT = env.int("DISPATCH_LOAD_LIMIT", default=2)
DISPATCH_LOAD_LIMITS = env.dict("DISPATCH_LOAD_LIMITS", cast={"value": int}, default={"police": 3})
# A shared position older than this is stale: the member is ranked from their duty post or home.
POSITION_STALE_MINUTES = env.int("POSITION_STALE_MINUTES", default=15)
# The wall snapshot is built once and shared by the walls of a sub-district for this long, unless
# an incident event is newer (wall/snapshot.py); 0 builds it for every request.
WALL_SNAPSHOT_SHARE_SECONDS = env.float("WALL_SNAPSHOT_SHARE_SECONDS", default=1.0)

# Arrival check: a responder who says "arrived" while their shared position (sent with the request,
# or the last known one if no older than ARRIVAL_POSITION_MAX_AGE_SECONDS) is farther than this from
# the incident is flagged in the timeline, never refused.
ARRIVAL_MAX_DISTANCE_M = env.int("ARRIVAL_MAX_DISTANCE_M", default=300)
ARRIVAL_POSITION_MAX_AGE_SECONDS = env.int("ARRIVAL_POSITION_MAX_AGE_SECONDS", default=120)
# The SLA clock (manage.py run_sla_clock): seconds between two looks for passed deadlines.
SLA_CLOCK_INTERVAL_SECONDS = env.float("SLA_CLOCK_INTERVAL_SECONDS", default=5.0)
# The ladder: an arrival-overdue alarm that nobody acknowledged (or snoozed) within this many
# minutes raises the case's escalation level once, by the SLA clock.
SLA_ESCALATE_AFTER_MINUTES = env.int("SLA_ESCALATE_AFTER_MINUTES", default=5)
# Until acknowledged: an order not accepted this many seconds after dispatch is sent again, then
# sent outbound at once, then raised to the member's unit leaders on duty (by the SLA clock, each
# step once); a dispatcher's "remind again" waits REMIND_MIN_INTERVAL_SECONDS after the last one.
ORDER_CONFIRM_RESEND_SECONDS = env.int("ORDER_CONFIRM_RESEND_SECONDS", default=120)
ORDER_CONFIRM_OUTBOUND_SECONDS = env.int("ORDER_CONFIRM_OUTBOUND_SECONDS", default=300)
ORDER_CONFIRM_ESCALATE_SECONDS = env.int("ORDER_CONFIRM_ESCALATE_SECONDS", default=600)
REMIND_MIN_INTERVAL_SECONDS = env.int("REMIND_MIN_INTERVAL_SECONDS", default=180)
# The same for an overdue-arrival alarm told to the member's unit leaders: not acknowledged (in the
# app, or by the command room) this many minutes after it was raised, it is sent again to them, then
# sent outbound at once, then raised to the command room (by the SLA clock, each step once). Before
# SLA_ESCALATE_AFTER_MINUTES by default, so that the command room hears of it before the level rises.
ALARM_ACK_RESEND_MINUTES = env.int("ALARM_ACK_RESEND_MINUTES", default=2)
ALARM_ACK_OUTBOUND_MINUTES = env.int("ALARM_ACK_OUTBOUND_MINUTES", default=3)
ALARM_ACK_RAISE_MINUTES = env.int("ALARM_ACK_RAISE_MINUTES", default=4)
# A case handed to a unit (a transfer from the scene, an assignment to an office): minutes to
# accept or return it, and hours to report the result, by unit kind ("police_station=15,...");
# HANDOVER_*_DEFAULT for every other kind. An assignment form's own deadline wins for the result.
HANDOVER_ACCEPT_MINUTES_DEFAULT = env.int("HANDOVER_ACCEPT_MINUTES_DEFAULT", default=60)
HANDOVER_ACCEPT_MINUTES = env.dict(
    "HANDOVER_ACCEPT_MINUTES", cast={"value": int},
    default={"police_station": 15, "grid_squad": 30, "community": 30, "subdistrict_office": 120})
HANDOVER_REPORT_HOURS_DEFAULT = env.int("HANDOVER_REPORT_HOURS_DEFAULT", default=72)
HANDOVER_REPORT_HOURS = env.dict(
    "HANDOVER_REPORT_HOURS", cast={"value": int}, default={"police_station": 24, "grid_squad": 48})
# The recommendation's two queries are prepared once per database connection; set to 0 behind a
# pooler that does not keep sessions (PgBouncer in transaction mode).
DISPATCH_PREPARED_STATEMENTS = env.bool("DISPATCH_PREPARED_STATEMENTS", default=True)

# Our websockets (config/ws_frames.py): the largest frame a client may send (bytes of UTF-8), and
# per socket the frames and the resumes (replays of missed events) a minute, in a burst or spread.
WS_MAX_FRAME_BYTES = env.int("WS_MAX_FRAME_BYTES", default=4096)
WS_FRAMES_PER_MINUTE = env.int("WS_FRAMES_PER_MINUTE", default=300)
WS_RESUME_PER_MINUTE = env.int("WS_RESUME_PER_MINUTE", default=6)

# Responders' positions (dispatch/positions.py): the wall map gets at most one message of positions
# per sub-district per this many seconds and server process (each member once, at their newest fix).
WALL_POSITIONS_INTERVAL_S = env.float("WALL_POSITIONS_INTERVAL_S", default=1.0)
# POST /api/v1/positions/: the most fixes in one batch; fixes older than this many hours or more
# than this many seconds ahead of the server's clock are refused.
POSITIONS_MAX_BATCH = env.int("POSITIONS_MAX_BATCH", default=5000)
POSITIONS_MAX_AGE_HOURS = env.int("POSITIONS_MAX_AGE_HOURS", default=24)
POSITIONS_MAX_AHEAD_SECONDS = env.int("POSITIONS_MAX_AHEAD_SECONDS", default=300)
# Off: a batch of positions commits asynchronously (SET LOCAL synchronous_commit = off, that
# transaction only): a database crash may lose the batches of its last few hundred milliseconds,
# which each member's next fix supersedes (dispatch.positions.positions_ingest). On by default.
POSITIONS_SYNCHRONOUS_COMMIT = env.bool("POSITIONS_SYNCHRONOUS_COMMIT", default=True)
# The track (dispatch.PositionFix) is partitioned by local day (dispatch/track_partitions.py): the SLA
# clock (hourly) and `manage.py track_partitions` keep a partition ready for today and this many days
# ahead, and drop each day's partition, its fixes with it, once the day lies more than
# POSITION_TRACK_DAYS days back (the replay's reach).
POSITION_TRACK_DAYS = env.int("POSITION_TRACK_DAYS", default=90)
POSITION_TRACK_DAYS_AHEAD = env.int("POSITION_TRACK_DAYS_AHEAD", default=7)

# Idempotency keys of the API's actions (incidents/idempotency.py): a key is honoured this many
# hours after its first use — 14 days, since a phone's outbox never drops an action and may hold one
# through a long absence; the phone asks its member before sending an entry near the end of this
# window (frontend/static/gridlink/m/queue.js). Each keyed request purges up to
# IDEMPOTENCY_PURGE_BATCH expired keys of anybody.
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=14 * 24)
IDEMPOTENCY_PURGE_BATCH = env.int("IDEMPOTENCY_PURGE_BATCH", default=100)

# On-site photos (incidents/photos.py): stored under MEDIA_ROOT (never served as static files: the
# photos endpoint checks who may see the case). At most PHOTO_MAX_COUNT photos per on-site report,
# each at most PHOTO_MAX_BYTES (8 MiB) as uploaded and PHOTO_MAX_PIXELS decoded (a decompression
# bomb guard); the display renditions are JPEGs of at most PHOTO_LARGE_PX / PHOTO_THUMB_PX a side.
MEDIA_ROOT = BASE_DIR / env.str("MEDIA_ROOT", default="var/media")  # relative: to the project root
MEDIA_URL = "/media-not-served/"  # nothing is routed here: photos go through /api/v1/photos/{id}/
PHOTO_MAX_COUNT = 3
PHOTO_MAX_BYTES = env.int("PHOTO_MAX_BYTES", default=8 * 1024 * 1024)
PHOTO_MAX_PIXELS = env.int("PHOTO_MAX_PIXELS", default=50_000_000)
PHOTO_LARGE_PX = env.int("PHOTO_LARGE_PX", default=1600)
PHOTO_THUMB_PX = env.int("PHOTO_THUMB_PX", default=320)
