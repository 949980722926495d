"""Settings for Fleetwise Ops, read from the environment (django-environ) and checked at start-up.

PORTAL_ENVIRONMENT selects the safety level: `production` (the default, so a forgotten
variable never yields a debug server), `demo` (make demo) or `test`.
"""

from __future__ import annotations

from pathlib import Path

import django_stubs_ext
import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from portal.config import (
    AZURE_MODES,
    ENVIRONMENTS,
    database_config,
    production_refusals,
    require_choice,
    require_present,
)

# Lets ModelAdmin[...] and QuerySet[...] generics work at run time, as the type checker sees them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

PORTAL_ENVIRONMENT = require_choice(
    "PORTAL_ENVIRONMENT", env.str("PORTAL_ENVIRONMENT", default="production"), ENVIRONMENTS
)
PRODUCTION = PORTAL_ENVIRONMENT == "production"

# The demo runs like production (gunicorn, whitenoise, the portal's own error pages).
DEBUG = env.bool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when PORTAL_ENVIRONMENT=production.")

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY.strip():
    if PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when PORTAL_ENVIRONMENT=production: set it to a long random "
            "value (for example from Key Vault). See .env.example."
        )
    SECRET_KEY = f"insecure-{PORTAL_ENVIRONMENT}-only-key-never-used-in-production-0123456789"

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
if PRODUCTION:
    require_present("production", ALLOWED_HOSTS=ALLOWED_HOSTS)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_celery_beat",
    "csp",
    "ninja",
    "portal",
    "tenants",
    "operations",
    "backups",
    "monitoring",
    "notifications",
    "keys",
    "scaling",
    "dr",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.RequestIdMiddleware",
    "portal.middleware.AzureWebBudget",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.AnonymousWritesRefused",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.PortalCSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.context_processors.portal",
                "operations.context_processors.approvals",
            ],
        },
    },
]

DATABASES = {
    "default": database_config(
        env.str("DATABASE_URL", default="sqlite:///var/portal.sqlite3"), base_dir=BASE_DIR
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "sign-in"
LOGIN_REDIRECT_URL = "admin:index"

# Time: everything is stored in UTC; pages show PORTAL_TIME_ZONE with UTC alongside.
LANGUAGE_CODE = "en-au"
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
PORTAL_TIME_ZONE = env.str("PORTAL_TIME_ZONE", default="Australia/Sydney")
try:
    import zoneinfo

    zoneinfo.ZoneInfo(PORTAL_TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
    raise ImproperlyConfigured(
        f"PORTAL_TIME_ZONE {PORTAL_TIME_ZONE!r} is not an IANA time zone name (e.g. Australia/Sydney)."
    ) from exc

STATIC_URL = "static/"
# Production serves collected files (make collectstatic); elsewhere whitenoise serves from the apps.
STATIC_ROOT = VAR_DIR / "staticfiles" if PRODUCTION else None
WHITENOISE_USE_FINDERS = not PRODUCTION
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security. Production sits behind App Service's TLS-terminating front end. ---
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
X_FRAME_OPTIONS = "DENY"
# CSRF refusals are denied accesses too: audited like every other 403.
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # Django admin's templates carry a few inline style attributes.
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "frame-ancestors": [NONE],
        # The identity provider's origin is added per request (portal.middleware).
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# Trust X-Forwarded-For for the audit trail's source IP only behind a known proxy.
PORTAL_TRUST_X_FORWARDED_FOR = env.bool("PORTAL_TRUST_X_FORWARDED_FOR", default=PRODUCTION)

# --- Celery (docs/architecture.md §2, §6). ---
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6390/0")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# A task is acknowledged only when it finishes, so a killed worker's task is redelivered;
# operations also carry a heartbeat because Redis redelivers only after the visibility timeout.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Worker lines name the enqueuing request and the operation, as the web's do (portal/celery.py
# adds the filter that fills them in).
CELERY_WORKER_LOG_FORMAT = (
    "[%(asctime)s: %(levelname)s/%(processName)s] "
    "[request=%(request_id)s operation=%(operation_id)s] %(message)s"
)
CELERY_WORKER_TASK_LOG_FORMAT = (
    "[%(asctime)s: %(levelname)s/%(processName)s] %(task_name)s[%(task_id)s] "
    "[request=%(request_id)s operation=%(operation_id)s] %(message)s"
)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
# Enqueueing from a page must not hang when Redis is down: the producer gives up after about
# two seconds (a short connect timeout, one attempt) and the page answers; the operations
# sweep enqueues the work again once Redis is back. Celery's defaults retried the result
# store's connection for about 19 s. Workers restore patient reconnects (portal/celery.py).
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_CONNECTION_RETRY = False
CELERY_BROKER_CONNECTION_MAX_RETRIES = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_timeout": 5.0,
    "max_retries": 1,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = CELERY_BROKER_CONNECTION_TIMEOUT
CELERY_REDIS_SOCKET_TIMEOUT = 5.0
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
    }
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Show clocked, crontab and solar schedules in the admin too (the portal uses intervals).
PORTAL_ADMIN_ALL_SCHEDULES = env.bool("PORTAL_ADMIN_ALL_SCHEDULES", default=False)

CELERY_BEAT_SCHEDULE = {
    "operations-sweep": {"task": "operations.sweep", "schedule": 60.0},
    "notifications-sweep": {"task": "notifications.sweep", "schedule": 60.0},
    "notifications-security-digest": {
        "task": "notifications.security_digest",
        "schedule": 60.0 * env.int("NOTIFY_DIGEST_MINUTES", default=60),
    },
}

# --- Operations (docs/architecture.md §6). ---
# A run renews its lease every few seconds; one silent for this long is presumed dead.
OPERATIONS_LEASE_SECONDS = env.int("OPERATIONS_LEASE_SECONDS", default=90)
OPERATIONS_MAX_ATTEMPTS = env.int("OPERATIONS_MAX_ATTEMPTS", default=20)
OPERATIONS_ADMISSION_RETRY_SECONDS = env.int("OPERATIONS_ADMISSION_RETRY_SECONDS", default=30)
# How often a step waiting for Azure (a restore, a delete) looks again; the worker is free between.
OPERATIONS_WAIT_SECONDS = env.float("OPERATIONS_WAIT_SECONDS", default=15.0)
OPERATIONS_APPROVAL_TTL_MINUTES = env.int("OPERATIONS_APPROVAL_TTL_MINUTES", default=240)

# --- Audit trail (docs/audit.md). ---
# The key of the events' HMAC. It must not live in the portal's database (that is what it
# protects against): an App Service setting, ideally a Key Vault reference
# (@Microsoft.KeyVault(SecretUri=...)). Keep it for the chain's lifetime: a new key fails every
# event written with the old one.
# Production refuses a missing, short or reused key (portal.config.production_refusals).
AUDIT_MAC_KEY = env.str("AUDIT_MAC_KEY", default="")
if not AUDIT_MAC_KEY and not PRODUCTION:
    AUDIT_MAC_KEY = f"insecure-{PORTAL_ENVIRONMENT}-only-audit-mac-key-never-used-in-production"
# Anchors (chain length and head) go to the log; also appended to this file when set.
AUDIT_ANCHOR_FILE = env.str("AUDIT_ANCHOR_FILE", default="")
AUDIT_ANCHOR_INTERVAL_SECONDS = env.int("AUDIT_ANCHOR_INTERVAL_SECONDS", default=900)
CELERY_BEAT_SCHEDULE["audit-anchor"] = {
    "task": "portal.anchor_audit_chain",
    "schedule": float(AUDIT_ANCHOR_INTERVAL_SECONDS),
}

# --- Scaling guard rails (docs/scaling-and-keys.md): allowed SKUs and sizes, prices, the monthly
# cost rise that needs a second admin. Keys of scaling.rules.ScalingLimits; unset = its defaults.
SCALING_LIMITS = env.json("SCALING_LIMITS", default={})

# --- Key rotation (docs/scaling-and-keys.md): a second admin approves by default. ---
KEY_ROTATION_NEEDS_APPROVAL = env.bool("KEY_ROTATION_NEEDS_APPROVAL", default=True)
# How many rotations of a fleet batch run at once.
KEY_ROTATION_BATCH_CONCURRENCY = env.int("KEY_ROTATION_BATCH_CONCURRENCY", default=4)

# --- Restores (the restore issue; docs/architecture.md §6–7). ---
RESTORE_IN_PLACE_NEEDS_APPROVAL = env.bool("RESTORE_IN_PLACE_NEEDS_APPROVAL", default=True)
RESTORE_PARALLEL_NEEDS_APPROVAL = env.bool("RESTORE_PARALLEL_NEEDS_APPROVAL", default=False)
# Azure restores up to the last log backup (every 5–10 minutes); later times are refused.
RESTORE_LATEST_LAG_MINUTES = env.int("RESTORE_LATEST_LAG_MINUTES", default=10)
RESTORE_COPY_RETENTION_DAYS = env.int("RESTORE_COPY_RETENTION_DAYS", default=7)
RESTORE_PRE_RESTORE_RETENTION_DAYS = env.int("RESTORE_PRE_RESTORE_RETENTION_DAYS", default=14)
# Restores at once, as Azure processes them (the emulator enforces the same by default).
RESTORE_MAX_PER_POOL = env.int("RESTORE_MAX_PER_POOL", default=4)
RESTORE_MAX_PER_SUBSCRIPTION = env.int("RESTORE_MAX_PER_SUBSCRIPTION", default=30)

# --- Monitoring (the refresh pipeline, docs/monitoring.md). ---
# How often beat refreshes the hot sources (keep it equal to the "monitoring: hot sources" schedule
# in the admin); data older than two intervals makes a tenant Unknown.
MONITORING_HOT_INTERVAL_SECONDS = env.int("MONITORING_HOT_INTERVAL_SECONDS", default=120)
MONITORING_REFRESH_NOW_COOLDOWN_SECONDS = env.int(
    "MONITORING_REFRESH_NOW_COOLDOWN_SECONDS", default=60
)
MONITORING_FLEET_REFRESH_NOW_COOLDOWN_SECONDS = env.int(
    "MONITORING_FLEET_REFRESH_NOW_COOLDOWN_SECONDS", default=60
)

# --- Notifications (docs/notifications.md): e-mail over SMTP and Teams incoming webhooks. ---
DEMO = PORTAL_ENVIRONMENT == "demo"
# Links in messages leave the portal, so they need its public address.
PORTAL_BASE_URL = env.str(
    "PORTAL_BASE_URL",
    default=f"https://{ALLOWED_HOSTS[0].lstrip('.')}" if PRODUCTION else "http://127.0.0.1:8000",
)
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
# The demo's mail catcher (Procfile `mail`) listens on 1025.
EMAIL_HOST = env.str("EMAIL_HOST", default="127.0.0.1" if DEMO else "localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=1025 if DEMO else 25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Fleetwise Ops <ops-portal@fleetwise.example>"
)
# The shared channel for people who chose Teams without naming their own channel.
NOTIFY_TEAMS_WEBHOOK_URL = env.str(
    "NOTIFY_TEAMS_WEBHOOK_URL", default="http://127.0.0.1:8026/webhook/fleet-ops" if DEMO else ""
)
# Where the worker may post: Teams' webhook hosts (Workflows and legacy connectors).
NOTIFY_TEAMS_WEBHOOK_HOSTS = env.list(
    "NOTIFY_TEAMS_WEBHOOK_HOSTS",
    default=[
        "*.webhook.office.com",
        "*.logic.azure.com",
        "*.environment.api.powerplatform.com",
        *([] if PRODUCTION else ["127.0.0.1", "localhost"]),
    ],
)
NOTIFY_WEBHOOK_TIMEOUT = env.float("NOTIFY_WEBHOOK_TIMEOUT", default=10.0)
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=6)
NOTIFY_RETRY_BASE_SECONDS = env.float("NOTIFY_RETRY_BASE_SECONDS", default=30.0)
NOTIFY_RETRY_MAX_SECONDS = env.float("NOTIFY_RETRY_MAX_SECONDS", default=3600.0)
NOTIFY_SWEEP_GRACE_SECONDS = env.int("NOTIFY_SWEEP_GRACE_SECONDS", default=300)

# --- Azure (docs/architecture.md §4). ---
PORTAL_AZURE = require_choice(
    "PORTAL_AZURE",
    env.str("PORTAL_AZURE", default="azure" if PRODUCTION else "emulator"),
    AZURE_MODES,
)
# Emulator mode reads its endpoints, client and CA from the emulator's demo.json.
PORTAL_EMULATOR_STATE_DIR = Path(
    env.str("PORTAL_EMULATOR_STATE_DIR", default=str(VAR_DIR / "emulator"))
)
AZURE_SUBSCRIPTION_IDS = env.list("AZURE_SUBSCRIPTION_IDS", default=[])
AZURE_ARM_ENDPOINT = env.str("AZURE_ARM_ENDPOINT", default="https://management.azure.com")
AZURE_AUTHORITY_HOST = env.str("AZURE_AUTHORITY_HOST", default="https://login.microsoftonline.com")
AZURE_METRICS_ENDPOINT = env.str(
    "AZURE_METRICS_ENDPOINT", default="https://australiaeast.metrics.monitor.azure.com"
)
# Pages never wait on Azure longer than this in all (SDK calls made while answering a page use
# short timeouts and at most one retry; portal/azure/web_profile.py).
AZURE_WEB_BUDGET_SECONDS = env.float("AZURE_WEB_BUDGET_SECONDS", default=8.0)
# Seconds between polls of a long-running operation when Azure sends no Retry-After.
AZURE_POLLING_INTERVAL = env.float("AZURE_POLLING_INTERVAL", default=5.0)
AZURE_KEYVAULT_VERIFY_CHALLENGE_RESOURCE = env.bool(
    "AZURE_KEYVAULT_VERIFY_CHALLENGE_RESOURCE", default=True
)

# --- Entra ID sign-in (the sign-in issue uses these). ---
ENTRA_TENANT_ID = env.str("ENTRA_TENANT_ID", default="")
ENTRA_CLIENT_ID = env.str("ENTRA_CLIENT_ID", default="")
ENTRA_CLIENT_SECRET = env.str("ENTRA_CLIENT_SECRET", default="")
ENTRA_CLIENT_CERTIFICATE_PATH = env.str("ENTRA_CLIENT_CERTIFICATE_PATH", default="")
ENTRA_CLIENT_CERTIFICATE_THUMBPRINT = env.str("ENTRA_CLIENT_CERTIFICATE_THUMBPRINT", default="")
ENTRA_REDIRECT_URI = env.str("ENTRA_REDIRECT_URI", default="")
ENTRA_ROLE_SUPPORT = env.str("ENTRA_ROLE_SUPPORT", default="Portal.Support")
ENTRA_ROLE_ACCOUNT_MANAGER = env.str("ENTRA_ROLE_ACCOUNT_MANAGER", default="Portal.AccountManager")
ENTRA_ROLE_ADMIN = env.str("ENTRA_ROLE_ADMIN", default="Portal.Admin")

# Break-glass: Django's password sign-in for one named local superuser, off unless set.
PORTAL_BREAK_GLASS_USERNAME = env.str(
    "PORTAL_BREAK_GLASS_USERNAME", default="demo" if PORTAL_ENVIRONMENT == "demo" else ""
)

if PRODUCTION and (
    refusals := production_refusals(
        secret_key=SECRET_KEY,
        allowed_hosts=ALLOWED_HOSTS,
        azure_mode=PORTAL_AZURE,
        audit_mac_key=AUDIT_MAC_KEY,
    )
):
    raise ImproperlyConfigured(" ".join(refusals))

# Break-glass throttling (portal/break_glass.py): this many failures per username and source
# address within the window lock that pair out for the lockout; `manage.py break_glass_unlock`
# lifts it (audited).
BREAK_GLASS_MAX_FAILURES = env.int("BREAK_GLASS_MAX_FAILURES", default=5)
BREAK_GLASS_FAILURE_WINDOW_SECONDS = env.int("BREAK_GLASS_FAILURE_WINDOW_SECONDS", default=15 * 60)
BREAK_GLASS_LOCKOUT_MINUTES = env.int("BREAK_GLASS_LOCKOUT_MINUTES", default=30)

# `default` is per process; `shared` is seen by every process (a table in the portal's own
# database, created by migrate): sign-in throttling must hold across web workers, and must not
# depend on Redis, since break-glass is the way in when other things are down.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "shared": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "portal_cache",
    },
}

if PORTAL_AZURE == "azure":
    require_present(
        "PORTAL_AZURE=azure",
        AZURE_SUBSCRIPTION_IDS=AZURE_SUBSCRIPTION_IDS,
        ENTRA_TENANT_ID=ENTRA_TENANT_ID,
        ENTRA_CLIENT_ID=ENTRA_CLIENT_ID,
        ENTRA_REDIRECT_URI=ENTRA_REDIRECT_URI,
        ENTRA_CLIENT_SECRET_OR_CERTIFICATE=ENTRA_CLIENT_SECRET or ENTRA_CLIENT_CERTIFICATE_PATH,
    )

# --- Telemetry (docs/telemetry.md): OpenTelemetry traces, metrics and logs. ---
PORTAL_TELEMETRY = require_choice(
    "PORTAL_TELEMETRY",
    env.str("PORTAL_TELEMETRY", default="off" if PORTAL_ENVIRONMENT == "test" else "auto"),
    ("auto", "off", "console", "otlp", "azure-monitor"),
)
APPLICATIONINSIGHTS_CONNECTION_STRING = env.str("APPLICATIONINSIGHTS_CONNECTION_STRING", default="")
# Read by the OTLP exporters themselves; here so that `auto` can see it is set.
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
if PORTAL_TELEMETRY == "azure-monitor" and not APPLICATIONINSIGHTS_CONNECTION_STRING:
    raise ImproperlyConfigured(
        "PORTAL_TELEMETRY=azure-monitor needs APPLICATIONINSIGHTS_CONNECTION_STRING."
    )

# Every line names the request and the operation it belongs to ("-" when none).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s "
            "[request=%(request_id)s operation=%(operation_id)s] %(message)s"
        }
    },
    "filters": {
        "refusals": {"()": "portal.log_filters.ExpectedRefusalsOnOneLine"},
        "context": {"()": "portal.log_context.LogContextFilter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["context"]}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # The SDKs log every request and response header at INFO.
        "azure": {"level": env.str("AZURE_LOG_LEVEL", default="WARNING")},
        "django.request": {"filters": ["refusals"]},
    },
}
