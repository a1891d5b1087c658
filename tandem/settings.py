"""Tandem settings: one module, everything that differs between machines comes from the environment.

The defaults make `make run` work on a laptop with nothing configured (SQLite, console e-mail, a
development key). Production sets DEBUG=0 and the variables listed in the README; a missing secret
then stops start-up instead of silently using a development value.
"""

from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from tandem.lib.env import env_bool, env_int, env_list, env_str
from tandem.lib.structured_logs import configure_structlog, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)
# Compile every remembered query (tandem/lib/remembered_queries.py) Django's way too and insist they
# match: on in the test suite, off in production where it would undo the saving.
TANDEM_CHECK_REMEMBERED_QUERIES = env_bool("TANDEM_CHECK_REMEMBERED_QUERIES", False)

_DEV_SECRET = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0")

# The audit chain's HMAC key lives outside the database so that someone who can write to the database
# cannot re-sign edited rows.
AUDIT_HMAC_KEY = env_str("AUDIT_HMAC_KEY", "dev-only-audit-key" if DEBUG else "")
if not AUDIT_HMAC_KEY:
    raise ImproperlyConfigured("AUDIT_HMAC_KEY must be set when DEBUG=0")
# Append-only file outside the database where the audit chain's signed head is written (audit_anchor),
# and how often the notify worker writes it.
AUDIT_ANCHOR_PATH = env_str("AUDIT_ANCHOR_PATH", "")
AUDIT_ANCHOR_SECONDS = env_int("AUDIT_ANCHOR_SECONDS", 900)

# Fernet keys for clinical free text at rest (tandem/lib/crypto.py), newest first. In development a
# fixed key derived from SECRET_KEY; with DEBUG=0 it must be set (`check --deploy` says so, and
# encrypting refuses to run without it).
TANDEM_FIELD_KEYS = env_list("TANDEM_FIELD_KEYS", [])
if not TANDEM_FIELD_KEYS and DEBUG:
    import base64
    import hashlib

    TANDEM_FIELD_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(f"tandem-field-key:{SECRET_KEY}".encode()).digest()).decode()
    ]

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "django_structlog",
    "health_check",
    "tandem.lib",
    "tandem.accounts",
    "tandem.practice",
    "tandem.cases",
    "tandem.access",
    "tandem.audit",
    "tandem.scheduling",
    "tandem.planning",
    "tandem.measures",
    "tandem.pathway",
    "tandem.homework",
    "tandem.billing",
    "tandem.video",
    "tandem.claims",
    "tandem.portal",
    "tandem.notify",
    "tandem.records",
    "tandem.consents",
    "tandem.outcomes",
    "tandem.public",
    "tandem.today",
    # Last: the demo seed sits on top of every other app and nothing imports it.
    "tandem.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tandem.lib.middleware.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # request.user as the user itself rather than two lazy proxies (see the class).
    "tandem.accounts.middleware.ConcreteUserMiddleware",
    "tandem.audit.middleware.AuditContextMiddleware",
    # Binds a request id to every log line of the request; logs its start and end (no personal data).
    "django_structlog.middlewares.RequestMiddleware",
    "tandem.accounts.middleware.SessionLimitsMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Refusal (bad input) -> 400 with its message; AccessDenied -> the audited 404. One place for both.
    "tandem.access.middleware.RefusalMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Axes goes last so that it sees the outcome of authentication in the views above it.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tandem.urls"
WSGI_APPLICATION = "tandem.wsgi.application"

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
                "tandem.lib.context_processors.practice",
            ],
            # Django's date filter and url tag, in versions that remember per worker what they worked
            # out (tandem/lib/dates.py, tandem/lib/urls.py: same output).
            "builtins": [
                "tandem.lib.templatetags.remembered_dates",
                "tandem.lib.templatetags.remembered_urls",
            ],
        },
    },
    # Only for fragments that print a thousand rows (tandem/lib/jinja.py says why); named "*.jinja"
    # and rendered with using="jinja2", so the Django engine above never reads them.
    {
        "NAME": "jinja2",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "tandem.lib.jinja.environment"},
    },
]

# Forms print their fields with Django's Jinja2 copies of its form templates (lib/form_renderer.py).
FORM_RENDERER = "tandem.lib.form_renderer.FormRenderer"

# --- Database -------------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take SQLite's write lock at BEGIN, so every write transaction (bookings,
    # the audit chain) is serialized instead of failing half-way when two requests race.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters travel apart from the SQL (server-side binding), so that psycopg can prepare a query
    # the second time a connection runs it: PostgreSQL then keeps its plan. Planning a scoped list
    # with its joins took 2-3 ms of the 0.1 ms it ran, eight times on Today; PostgreSQL still plans
    # afresh where the kept plan would be worse (plan_cache_mode auto). Not behind a transaction-mode
    # pooler, whose connections do not keep prepared statements.
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "server_side_binding": True,
        "prepare_threshold": 2,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: shared by all workers (database by default, Redis when CACHE_URL is set) -------------
_cache_url = env_str("CACHE_URL", "")
if _cache_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "tandem_cache"}
    }

# --- Authentication -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "today"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = 60 * 60  # one hour: a reset link is a key to a clinical record

# Staff must use a second factor. Only the demo (make run) and tests switch this off; `check --deploy`
# warns when it is off in production.
TANDEM_STAFF_MFA_REQUIRED = env_bool("TANDEM_STAFF_MFA_REQUIRED", True)
OTP_TOTP_ISSUER = env_str("PRACTICE_NAME", "Tandem")

# Lock-out keyed on the pair (user name, address): an attacker elsewhere cannot lock a clinician out.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "tandem.accounts.views.locked_out"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_ENABLE_ADMIN = False
# Axes keeps the failed form in its table: never the second-factor or recovery codes typed.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code", "recovery_code"]

# --- Sessions: 15 minutes idle, an absolute maximum, never Django's two weeks ---------------------
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 15 * 60)
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 10 * 60 * 60)
# A little longer than the idle limit, so that the middleware (not the store) ends an idle session and
# can say why.
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS + 300
# The session limits middleware writes the session when the last-seen time is older than a minute
# (accounts.services.touch_interval), which keeps the store's expiry ahead of the idle limit; saving on
# every request wrote a row for every page view and poll.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "tandem_session"
CSRF_COOKIE_NAME = "tandem_csrf"

# --- Security headers -----------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers and container health checks ask over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# --- Internationalisation and time ----------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("PRACTICE_TIME_ZONE", "Europe/Amsterdam")
USE_I18N = True
USE_TZ = True

# --- Static files: own CSS/JS plus assets installed from npm at set-up ----------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
# In development WhiteNoise serves straight from the finders, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- E-mail ---------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
# Well below the notify worker's claim lease, so that a slow mail server cannot make a live sender look
# dead (tandem/notify/services.py).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
NOTIFY_LEASE_SECONDS = env_int("NOTIFY_LEASE_SECONDS", 600)
# The accounts app's reset form queues its e-mail here (notify sits above accounts in the layers).
TANDEM_RESET_EMAIL_QUEUE = "tandem.notify.mail.password_reset_queue"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Tandem <no-reply@tandem.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

PRACTICE_NAME = env_str("PRACTICE_NAME", "Tandem")
# ISO 3166 code of the practice's country: the demo closes the practice on its public holidays.
PRACTICE_COUNTRY = env_str("PRACTICE_COUNTRY", "NL")
# Links in e-mails (invitations, reminders) point here: e-mails never carry clinical content, only a link.
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://127.0.0.1:8000")

# --- Billing (tandem/billing): the practice's currency and what its invoices say ----------------------
PRACTICE_CURRENCY = env_str("PRACTICE_CURRENCY", "EUR")  # ISO 4217
# Printed on invoices: the practice's address block, its tax number and the tax or exemption sentence.
PRACTICE_ADDRESS = env_str("PRACTICE_ADDRESS", "")
PRACTICE_TAX_ID = env_str("PRACTICE_TAX_ID", "")
INVOICE_TAX_TEXT = env_str("INVOICE_TAX_TEXT", "")
# When set, invoices carry an ISO 11649 creditor reference and an EPC (SEPA) QR code for this account.
PRACTICE_IBAN = env_str("PRACTICE_IBAN", "").replace(" ", "").upper()
PRACTICE_BIC = env_str("PRACTICE_BIC", "")
# Insurance claims (tandem/claims, US practices): the billing provider on 837P claims and superbills.
# PRACTICE_TAX_ID above is the practice's EIN there (nine digits); the submitter and receiver ids are the
# ones the clearinghouse gives; CLAIMS_USAGE is T (test) until the clearinghouse accepts production files.
CLAIMS_PRACTICE_NPI = env_str("CLAIMS_PRACTICE_NPI", "")
CLAIMS_PRACTICE_TAXONOMY = env_str("CLAIMS_PRACTICE_TAXONOMY", "106H00000X")
CLAIMS_PRACTICE_STREET = env_str("CLAIMS_PRACTICE_STREET", "")
CLAIMS_PRACTICE_CITY = env_str("CLAIMS_PRACTICE_CITY", "")
CLAIMS_PRACTICE_STATE = env_str("CLAIMS_PRACTICE_STATE", "")
CLAIMS_PRACTICE_ZIP = env_str("CLAIMS_PRACTICE_ZIP", "")  # nine digits (ZIP+4) on claims
CLAIMS_CONTACT_PHONE = env_str("CLAIMS_CONTACT_PHONE", "")
CLAIMS_SUBMITTER_ID = env_str("CLAIMS_SUBMITTER_ID", "")
CLAIMS_RECEIVER_ID = env_str("CLAIMS_RECEIVER_ID", "")
CLAIMS_RECEIVER_NAME = env_str("CLAIMS_RECEIVER_NAME", "")
CLAIMS_USAGE = env_str("CLAIMS_USAGE", "T")
# Base URI of the practice's own FHIR identifier and code systems (client, case, local score codes) in
# exported records: a recipient tells this practice's client 12 from another's by it. Stable, never reused.
FHIR_IDENTIFIER_SYSTEM = env_str("FHIR_IDENTIFIER_SYSTEM", f"{PORTAL_BASE_URL.rstrip('/')}/fhir").rstrip("/")

# --- Public site: limits that keep a flood out of the calendar and the inbox -----------------------
# Per client address, counted in the shared cache (django-ratelimit syntax: count/period).
PUBLIC_BOOKING_RATE = env_str("PUBLIC_BOOKING_RATE", "10/h")
PUBLIC_CONTACT_RATE = env_str("PUBLIC_CONTACT_RATE", "5/h")
# Across all addresses: beyond these the site asks visitors to try later or phone.
PUBLIC_CONSULTATIONS_PER_HOUR = env_int("PUBLIC_CONSULTATIONS_PER_HOUR", 30)
PUBLIC_MESSAGES_PER_HOUR = env_int("PUBLIC_MESSAGES_PER_HOUR", 30)
PUBLIC_MESSAGES_PER_CONTACT_PER_DAY = 3
RATELIMIT_USE_CACHE = "default"

# --- Logging: never request bodies or clinical content --------------------------------------------
# JSON logs with a request id and no personal data; no line holds a secret token from a URL
# (tandem/lib/structured_logs.py, tandem/lib/logredact.py).
LOGGING = logging_config(level=env_str("LOG_LEVEL", "INFO"))
configure_structlog()
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
# The health endpoint's worker checks: a worker that has not beaten for this long counts as stopped
# (longer than the planner's longest solve, during which its worker does not beat).
WORKER_HEARTBEAT_STALE_SECONDS = env_int("WORKER_HEARTBEAT_STALE_SECONDS", 300)

# --- Video sessions (tandem/video): a self-hosted Janus WebRTC server -------------------------------
# Empty JANUS_URL switches video off: video appointments then show VIDEO_FALLBACK_PHONE and the staff
# pages say so. The server talks to Janus only through its admin API (rooms, tokens) on loopback; the
# browsers reach the Janus API at JANUS_PUBLIC_URL (the TLS proxy's address in production), with a
# per-seat token. The secrets come from the environment (`make run` generates them in .janus/, never
# committed); `manage.py janus_config` writes Janus' own configuration from these same values.
JANUS_URL = env_str("JANUS_URL", "")
JANUS_PUBLIC_URL = env_str("JANUS_PUBLIC_URL", JANUS_URL)
JANUS_ADMIN_URL = env_str("JANUS_ADMIN_URL", "")
JANUS_ADMIN_SECRET = env_str("JANUS_ADMIN_SECRET", "")
JANUS_ROOM_ADMIN_KEY = env_str("JANUS_ROOM_ADMIN_KEY", "")
JANUS_ROOM_SECRET_KEY = env_str("JANUS_ROOM_SECRET_KEY", "")
JANUS_TIMEOUT_SECONDS = env_int("JANUS_TIMEOUT_SECONDS", 5)
# TURN/STUN servers the browsers use (JSON list of RTCIceServer objects, e.g. the practice's coturn).
JANUS_ICE_SERVERS = env_str("JANUS_ICE_SERVERS", "[]")
# Shown instead of a video room when video is off: the number clients call for their session.
VIDEO_FALLBACK_PHONE = env_str("VIDEO_FALLBACK_PHONE", "")
STATICFILES_DIRS += [
    ("vendor/janus", BASE_DIR / "node_modules" / "janus-gateway" / "npm" / "dist"),
    ("vendor/webrtc-adapter", BASE_DIR / "node_modules" / "webrtc-adapter" / "out"),
]
