"""Settings for Cart Recovery.

One module, read from the environment with defaults that run locally (every variable is in the settings table of
docs/contract.md and README.md). The test suite's few differences are in cartrecovery/settings_test.py.
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "django-insecure-dev-only-key-never-use-in-production"  # noqa: S105
    else:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "csp",
    "rest_framework",
    "knox",  # API tokens stored as SHA-512 digests; before "users", whose admin replaces knox's
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_apscheduler",
    # The project's apps, in their layers (each imports only the ones before it; import-linter holds it, see
    # pyproject.toml): core; users, catalog; webhooks; carts; recovery; reports; scheduler; demo.
    "core",
    "users",
    "catalog",
    "webhooks",
    "carts",
    "recovery",
    "reports",
    "scheduler",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files answered here: none of the headers below
    "core.middleware.NoStoreMiddleware",  # Cache-Control: no-store on every answer Django makes
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (CONTENT_SECURITY_POLICY below)
    "corsheaders.middleware.CorsMiddleware",
    "core.middleware.RequestBodyLimitMiddleware",  # 413 before a too-large body is read
    "core.middleware.RefuseNulMiddleware",  # 400 for a NUL in the query string, which PostgreSQL refuses
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.CommonMiddleware",  # Django's, without the slash redirect for API writes
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cartrecovery.urls"
WSGI_APPLICATION = "cartrecovery.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "recovery.context_processors.shop",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DJANGO_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so two writers queue on the busy timeout
    # instead of failing with "database is locked" when one upgrades a read lock. WAL lets readers go on.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGIN_URL = "admin:login"
FIXTURE_DIRS = [BASE_DIR / "fixtures"]

# Request bodies: the API takes small JSON documents.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", 262_144, minimum=1024)

# --- Security (production values unless DEBUG) ----------------------------------------------------------------
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
CORS_ALLOWED_ORIGINS = env_list("DJANGO_CORS_ALLOWED_ORIGINS")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_HTTPONLY = True
# Content-Security-Policy on every page (django-csp): scripts, styles, fonts and everything else from this origin
# only, no inline script or style anywhere (the report's and the API docs' styles are static files, the Swagger UI's
# start-up script a separate request), images also as data: URLs (the admin's and Swagger UI's icons), never in a
# frame. Per-view additions are made with django-csp's decorators, where a page needs one (Redoc, cartrecovery/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Email ----------------------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "emails"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Cart Recovery <no-reply@localhost>")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# The shop's identity in emails and on the shopper's pages: the first values of the one row staff then edit in the
# admin (recovery/shop.py), so these are read once, when that row is created.
CART_SHOP_NAME = env_str("CART_SHOP_NAME", "Cart Recovery demo shop")
CART_STOREFRONT_URL = env_str("CART_STOREFRONT_URL", SITE_URL + "/")
CART_SHOP_LOGO_URL = env_str("CART_SHOP_LOGO_URL")
CART_SHOP_ADDRESS = env_str("CART_SHOP_ADDRESS")
CART_SHOP_SUPPORT_EMAIL = env_str("CART_SHOP_SUPPORT_EMAIL")
CART_SHOP_REPLY_TO = env_str("CART_SHOP_REPLY_TO")

# --- Cart Recovery --------------------------------------------------------------------------------------------
CART_CURRENCY = env_str("CART_CURRENCY", "USD")
CART_ABANDON_AFTER_SECONDS = env_int("CART_ABANDON_AFTER_SECONDS", 600, minimum=1)
CART_SWEEP_INTERVAL_SECONDS = env_int("CART_SWEEP_INTERVAL_SECONDS", 300, minimum=1)
CART_SWEEP_BATCH_SIZE = env_int("CART_SWEEP_BATCH_SIZE", 5000, minimum=1)
# PostgreSQL only, for a large backlog: connections that sweep it side by side (safe: see carts/sweep.py).
CART_SWEEP_WORKERS = env_int("CART_SWEEP_WORKERS", 2, minimum=1)
CART_MAX_QUANTITY = env_int("CART_MAX_QUANTITY", 999, minimum=1)
# The delays of the first campaign's steps, read once, by the migration that creates it (recovery/migrations/0004);
# after that staff edit the campaigns in the admin.
try:
    CART_RECOVERY_EMAIL_STEPS = [int(step) for step in env_list("CART_RECOVERY_EMAIL_STEPS", "3600,86400")]
except ValueError as exc:
    raise ImproperlyConfigured("CART_RECOVERY_EMAIL_STEPS must be comma-separated seconds") from exc
CART_RECOVERY_LINK_MAX_AGE_SECONDS = env_int("CART_RECOVERY_LINK_MAX_AGE_SECONDS", 7 * 86_400, minimum=60)
CART_RECOVERY_REDIRECT_URL = env_str("CART_RECOVERY_REDIRECT_URL")
CART_RECOVERY_EMAIL_MAX_ATTEMPTS = env_int("CART_RECOVERY_EMAIL_MAX_ATTEMPTS", 5, minimum=1)
# No shop mails one destination domain more than this many reminders an hour (0: no cap): registering strangers'
# addresses cannot turn the shop into a spam cannon aimed at one company.
CART_RECOVERY_EMAILS_PER_DOMAIN_PER_HOUR = env_int("CART_RECOVERY_EMAILS_PER_DOMAIN_PER_HOUR", 500)
# Retention, so cart tables do not grow forever: empty never-abandoned carts go after a week; closed carts
# (checked out, or abandoned and never back) after CART_RETENTION_DAYS; 0 keeps them forever.
CART_EMPTY_CART_MAX_AGE_SECONDS = env_int("CART_EMPTY_CART_MAX_AGE_SECONDS", 7 * 86_400, minimum=60)
CART_RETENTION_DAYS = env_int("CART_RETENTION_DAYS", 730)
# Webhooks (webhooks/): delivered every CART_WEBHOOKS_INTERVAL_SECONDS; events kept CART_WEBHOOKS_RETENTION_DAYS once
# their deliveries finish. Private, loopback and link-local receivers (and plain http) are refused unless allowed:
# allowed by default with DEBUG, so a developer's local receiver works, refused by default in production.
CART_WEBHOOKS_INTERVAL_SECONDS = env_int("CART_WEBHOOKS_INTERVAL_SECONDS", 5, minimum=1)
CART_WEBHOOKS_RETENTION_DAYS = env_int("CART_WEBHOOKS_RETENTION_DAYS", 30, minimum=1)
CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env_bool("CART_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", DEBUG)
JOB_EXECUTIONS_MAX_AGE_SECONDS = env_int("JOB_EXECUTIONS_MAX_AGE_SECONDS", 7 * 86_400, minimum=60)

# django-apscheduler
APSCHEDULER_DATETIME_FORMAT = "N j, Y, f:s a"
APSCHEDULER_RUN_NOW_TIMEOUT = 25

# --- REST framework -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.SafeJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["core.filters.FilterBackend"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.ContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    # Registration and the token exchange are rate-limited per client address (core/throttling.py);
    # "off" disables a limit. NUM_PROXIES=0 trusts no X-Forwarded-For, so a client cannot forge its address.
    "DEFAULT_THROTTLE_RATES": {
        "register": env_str("DJANGO_THROTTLE_REGISTER", "30/minute"),
        "token": env_str("DJANGO_THROTTLE_TOKEN", "10/minute"),
    },
    "NUM_PROXIES": env_int("DJANGO_NUM_PROXIES", 0),
}
# API tokens (django-rest-knox): a SHA-512 digest of each token is stored, with knox's 15-character lookup
# prefix, never the token, so a copy of the database gives nobody a working token. Tokens do not expire (a shopper
# gets one at registration and has no password to get another); staff revoke one by deleting it in the admin. Each
# /api/auth/token/ login issues a new token; a user keeps at most API_TOKENS_PER_USER of them, the oldest revoked to
# make room (users/services.py).
REST_KNOX = {"AUTH_HEADER_PREFIX": "Token", "TOKEN_TTL": None}
API_TOKENS_PER_USER = env_int("DJANGO_API_TOKENS_PER_USER", 10, minimum=1)
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "Cart Recovery API",
    "DESCRIPTION": "Carts, abandonment and recovery. Seed-compatible routes and REST resources under /api/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The contract: anonymous clients may register, list items and use a recovery link, nothing else. The schema
    # wants a token or a session (401 otherwise); the docs pages send anonymous visitors to the admin login.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two models have a "status": name their enums so the schema (and `check --deploy`) has no naming collision.
    "ENUM_NAME_OVERRIDES": {
        "CartStatusEnum": "carts.models.Cart.Status",
        "RecoveryEmailStatusEnum": "recovery.models.RecoveryEmail.Status",
        "WebhookDeliveryStatusEnum": "webhooks.models.Delivery.Status",
        "WebhookEventTypeEnum": "webhooks.models.EventType",
    },
    # Error responses (400/401/403/404, and 409/413 on writes) are documented on every operation in one place.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.add_error_responses",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "apscheduler": {"level": "INFO"},
        "django.db.backends": {"level": "WARNING"},
    },
}
