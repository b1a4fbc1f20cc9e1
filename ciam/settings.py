"""CIAM settings: one module, driven by environment variables.

Every variable read here is listed in `.env.example` and in the README. Development defaults
are safe (embedded SQLite under var/, DEBUG on, localhost issuer); with DEBUG off a missing
SECRET_KEY or CIAM_ISSUER stops start-up with a message naming the variable.
"""

import ipaddress
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


# The variables that were given a value (the console's Settings page tells set from default).
CIAM_SET_VARIABLES: set[str] = set()


def env_str(name: str, default: str | None = None) -> str | None:
    """Read NAME, or the contents of the file named by NAME_FILE (Docker secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            value = Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
        CIAM_SET_VARIABLES.add(name)
        return value
    given = os.environ.get(name)
    if given is None or given == "":
        return default
    CIAM_SET_VARIABLES.add(name)
    return given


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from exc
    if number < minimum or (maximum is not None and number > maximum):
        bounds = f">= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
        raise ImproperlyConfigured(f"{name}={number} is out of range (must be {bounds})")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if value is None:
        return default
    return [item for item in value.replace(",", " ").split() if item]


# --- Core ------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off it is required: set SECRET_KEY (or SECRET_KEY_FILE) "
            "to a long random value, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    SECRET_KEY = "dev-insecure-secret-key-do-not-use-in-production-0123456789abcdef"

CIAM_ISSUER = env_str("CIAM_ISSUER") or ""
if not CIAM_ISSUER:
    if not DEBUG:
        raise ImproperlyConfigured(
            "CIAM_ISSUER is not set. With DEBUG off it is required: set it to the public base URL "
            "of this service, e.g. CIAM_ISSUER=https://id.example.com"
        )
    CIAM_ISSUER = "http://localhost:8000"
CIAM_ISSUER = CIAM_ISSUER.rstrip("/")
_issuer_parts = urlsplit(CIAM_ISSUER)
if _issuer_parts.scheme not in {"http", "https"} or not _issuer_parts.hostname:
    raise ImproperlyConfigured(f"CIAM_ISSUER={CIAM_ISSUER!r} must be an absolute http(s) URL")
if _issuer_parts.query or _issuer_parts.fragment:
    raise ImproperlyConfigured("CIAM_ISSUER must not have a query or a fragment")
if not DEBUG and _issuer_parts.scheme != "https" and _issuer_parts.hostname not in {"localhost", "127.0.0.1"}:
    raise ImproperlyConfigured("CIAM_ISSUER must use https when DEBUG is off (OpenID Connect Discovery §3)")
CIAM_ISSUER_IS_HTTPS = _issuer_parts.scheme == "https"

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS",
    ["localhost", "127.0.0.1", "[::1]", "testserver", _issuer_parts.hostname]
    if DEBUG
    else [_issuer_parts.hostname],
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [f"{_issuer_parts.scheme}://{_issuer_parts.netloc}"])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "csp",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "ciam.accounts",
    "ciam.audit",
    "clients",
    "ciam.oauth",
    "consent",
    "ciam.api",
    "ciam.console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "ciam.lib.middleware.RejectNulBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ciam.accounts.authn.LastSeenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "ciam.urls"
WSGI_APPLICATION = "ciam.wsgi.application"
ASGI_APPLICATION = "ciam.asgi.application"

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
                "ciam.console.context.console",
            ],
        },
    }
]

# --- Database --------------------------------------------------------------------------------
# Embedded SQLite by default so that a fresh checkout runs with no server; PostgreSQL (psycopg 3)
# through DATABASE_URL in production and CI.

_default_sqlite = f"sqlite:///{BASE_DIR / 'var' / 'ciam.sqlite3'}"
try:
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL") or _default_sqlite,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
            # Off by default: a health check is one more round trip on every request. Without it a
            # connection the database dropped fails one request (a 503), then Django reconnects.
            conn_health_checks=env_bool("DATABASE_HEALTH_CHECKS", False),
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_SERVER_SIDE_BINDING", True
):
    # Parameters travel apart from the SQL, so psycopg skips quoting every value into the SQL
    # text, and a statement run five times on a connection is prepared: PostgreSQL parses and
    # plans it once per connection instead of on every request (planning an introspection's join
    # took three times as long as running it). Django leaves preparing off unless asked.
    # Turn both off behind a pooler in transaction mode (PgBouncer < 1.21), where a prepared
    # statement cannot follow the connection.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed while a writer commits; a busy timeout waits instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Identity --------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/account/apps"

# Argon2id for people's passwords (OWASP), through libsodium; the HMAC hasher is only ever
# selected explicitly for server-generated client secrets (≥256 bits), see ciam/accounts/hashers.py.
PASSWORD_HASHERS = [
    "ciam.accounts.hashers.PasswordArgon2Hasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "ciam.accounts.hashers.GeneratedSecretHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-in throttling: this many failures for one e-mail within the window lock it for the
# lockout; this many failures from one IP address within the window (any e-mails) slow it down.
CIAM_LOGIN_MAX_FAILURES = env_int("CIAM_LOGIN_MAX_FAILURES", 5, minimum=1)
CIAM_LOGIN_FAILURE_WINDOW = env_int("CIAM_LOGIN_FAILURE_WINDOW", 600, minimum=10)
CIAM_LOGIN_LOCKOUT = env_int("CIAM_LOGIN_LOCKOUT", 900, minimum=10)
CIAM_LOGIN_IP_MAX_FAILURES = env_int("CIAM_LOGIN_IP_MAX_FAILURES", 20, minimum=1)
# Refused admin API credentials per address within CIAM_LOGIN_FAILURE_WINDOW before 429s.
CIAM_ADMIN_AUTH_MAX_FAILURES = env_int("CIAM_ADMIN_AUTH_MAX_FAILURES", 10, minimum=1)
# Refused client authentications per client and address within CIAM_LOGIN_FAILURE_WINDOW before
# 429s (a correct secret is always accepted).
CIAM_CLIENT_AUTH_MAX_FAILURES = env_int("CIAM_CLIENT_AUTH_MAX_FAILURES", 10, minimum=1)
# Whether people may create their own accounts at /registration.
CIAM_REGISTRATION_ENABLED = env_bool("CIAM_REGISTRATION_ENABLED", True)
# Whether the consent page's "Remember this decision" starts ticked. Off: a person chooses to be
# remembered by an application (first-party ones usually skip consent altogether).
CIAM_CONSENT_REMEMBER_DEFAULT = env_bool("CIAM_CONSENT_REMEMBER_DEFAULT", False)

# --- E-mail -----------------------------------------------------------------------------------
# EMAIL_URL names the SMTP server: smtp://user:pass@host:25 (plain), smtp+tls://... (STARTTLS,
# port 587 by default), smtps://... (TLS from the start, 465). Without it, messages are written to
# var/mail/ (one file each) and listed on the console's Outbox in DEBUG.
EMAIL_URL = env_str("EMAIL_URL")
EMAIL_FROM = env_str("EMAIL_FROM") or "CIAM <no-reply@localhost>"
DEFAULT_FROM_EMAIL = EMAIL_FROM
CIAM_MAIL_DIR = BASE_DIR / "var" / "mail"
if EMAIL_URL:
    _mail = urlsplit(EMAIL_URL)
    if _mail.scheme not in ("smtp", "smtp+tls", "smtps") or not _mail.hostname:
        raise ImproperlyConfigured(
            f"EMAIL_URL must be smtp://, smtp+tls:// or smtps://user:password@host:port (got {_mail.scheme}://...)"
        )
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _mail.hostname
    EMAIL_PORT = _mail.port or {"smtp": 25, "smtp+tls": 587, "smtps": 465}[_mail.scheme]
    EMAIL_HOST_USER = unquote(_mail.username or "")
    EMAIL_HOST_PASSWORD = unquote(_mail.password or "")
    EMAIL_USE_TLS = _mail.scheme == "smtp+tls"
    EMAIL_USE_SSL = _mail.scheme == "smtps"
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(CIAM_MAIL_DIR)
# How many times a message is tried before the failure is logged (the flow's state is kept: the
# person can ask for it again).
CIAM_MAIL_ATTEMPTS = env_int("CIAM_MAIL_ATTEMPTS", 3, minimum=1, maximum=10)
# The deployment's name in messages and pages.
CIAM_SITE_NAME = env_str("CIAM_SITE_NAME") or "CIAM"

# Verification and recovery: how long a link or code works; whether sign-in to applications
# waits for a verified address.
CIAM_VERIFICATION_LIFESPAN = env_int("CIAM_VERIFICATION_LIFESPAN", 24 * 3600, minimum=300)
CIAM_RECOVERY_LIFESPAN = env_int("CIAM_RECOVERY_LIFESPAN", 900, minimum=60, maximum=86400)
CIAM_REQUIRE_VERIFIED_EMAIL = env_bool("CIAM_REQUIRE_VERIFIED_EMAIL", False)
# Recovery and verification e-mails asked for, per address and per network address, within
# CIAM_LOGIN_FAILURE_WINDOW.
CIAM_MAIL_MAX_REQUESTS = env_int("CIAM_MAIL_MAX_REQUESTS", 5, minimum=1)

# Multi-factor sign-in (ciam.accounts.factors): "off" (no second factors at all), "optional"
# (people may set up an authenticator app or passkeys, and are then asked at every sign-in) or
# "required" (everyone must: a person without a factor sets one up right after the password).
CIAM_MFA = (env_str("CIAM_MFA") or "optional").strip().lower()
if CIAM_MFA not in {"off", "optional", "required"}:
    raise ImproperlyConfigured(f"CIAM_MFA={CIAM_MFA!r} must be off, optional or required")

# --- Sessions, cookies, security headers -----------------------------------------------------

SESSION_ENGINE = "ciam.accounts.sessions"  # Django's database sessions, with the person's key
SESSION_COOKIE_NAME = "ciam_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("CIAM_SESSION_LIFESPAN", 14 * 24 * 3600, minimum=60)
CSRF_COOKIE_NAME = "ciam_csrf"
CSRF_COOKIE_HTTPONLY = True
SECURE_COOKIES = env_bool("CIAM_SECURE_COOKIES", CIAM_ISSUER_IS_HTTPS)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
# Proxies (addresses or networks) whose X-Forwarded-For is believed, for the caller's IP address
# (throttling, audit). Empty: the direct peer is the caller.
# A login and consent app of the deployment's own (Hydra's urls.login, urls.consent, urls.logout,
# urls.device.verification): /oauth2/auth and logout send the browser there with a challenge
# (Hydra v2's login and consent provider API). Unset: this server's own pages.
CIAM_LOGIN_URL = os.environ.get("CIAM_LOGIN_URL", "")
CIAM_CONSENT_URL = os.environ.get("CIAM_CONSENT_URL", "")
CIAM_LOGOUT_URL = os.environ.get("CIAM_LOGOUT_URL", "")
CIAM_DEVICE_VERIFICATION_URL = os.environ.get("CIAM_DEVICE_VERIFICATION_URL", "")
if CIAM_DEVICE_VERIFICATION_URL and not (CIAM_LOGIN_URL and CIAM_CONSENT_URL):
    raise ImproperlyConfigured(
        "CIAM_DEVICE_VERIFICATION_URL needs CIAM_LOGIN_URL and CIAM_CONSENT_URL too: a device flow "
        "continues with the login and consent apps."
    )
CIAM_TRUSTED_PROXIES = env_list("CIAM_TRUSTED_PROXIES", [])
# Networks whose requests to the admin API need no admin token, as on Hydra's separate admin port
# (the address judged as for throttling: the connection, or CIAM_TRUSTED_PROXIES' rules). Empty:
# a token is always needed. Anyone who can send from these networks administers the server.
CIAM_ADMIN_TRUSTED_NETWORKS = env_list("CIAM_ADMIN_TRUSTED_NETWORKS", [])
for _name, _networks in (
    ("CIAM_TRUSTED_PROXIES", CIAM_TRUSTED_PROXIES),
    ("CIAM_ADMIN_TRUSTED_NETWORKS", CIAM_ADMIN_TRUSTED_NETWORKS),
):
    for _network in _networks:
        try:
            ipaddress.ip_network(_network, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"{_name}: {_network!r} is not an IP address or network ({exc})."
            ) from exc
if env_bool("CIAM_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
SECURE_HSTS_SECONDS = env_int("CIAM_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Strict CSP: only our own scripts, styles and images; never framed (clickjacking). JSON
# endpoints carry no document to protect: their views are csp_exempt.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "https:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF, "http:", "https:"],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}

# CORS for browser-based clients (SPAs): only on protocol endpoints, and only for an origin that
# some active client registered in `allowed_cors_origins` (ciam.oauth.cors). No cookies cross.
# No origin is allowed statically; the signal handler decides per request.
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_URLS_REGEX = r"^/(oauth2/(token|revoke|introspect)|userinfo|\.well-known/.*)$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = ["authorization", "content-type"]
CORS_ALLOW_METHODS = ["GET", "POST", "OPTIONS"]
CORS_PREFLIGHT_MAX_AGE = 600

# --- I18N, static ----------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# English-only pages; translation machinery would cost on every request for nothing.
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# --- OAuth2 / OpenID Connect -----------------------------------------------------------------

CIAM_ACCESS_TOKEN_LIFESPAN = env_int("CIAM_ACCESS_TOKEN_LIFESPAN", 3600, minimum=60)
CIAM_REFRESH_TOKEN_LIFESPAN = env_int("CIAM_REFRESH_TOKEN_LIFESPAN", 30 * 24 * 3600, minimum=60)
CIAM_ID_TOKEN_LIFESPAN = env_int("CIAM_ID_TOKEN_LIFESPAN", 3600, minimum=60)
# RFC 6749 §4.1.2 says short-lived, 10 minutes at most.
CIAM_AUTHORIZATION_CODE_LIFESPAN = env_int("CIAM_AUTHORIZATION_CODE_LIFESPAN", 300, minimum=10, maximum=600)
# Device authorization (RFC 8628): how long a user code may be entered, and the polling interval.
CIAM_DEVICE_CODE_LIFESPAN = env_int("CIAM_DEVICE_CODE_LIFESPAN", 600, minimum=60, maximum=3600)
CIAM_DEVICE_POLL_INTERVAL = env_int("CIAM_DEVICE_POLL_INTERVAL", 5, minimum=1, maximum=60)
# Scopes a deployment adds to the built-in ones (openid profile email offline_access ...).
CIAM_EXTRA_SCOPES = env_list("CIAM_SCOPES", [])
CIAM_SIGNING_ALGORITHM = env_str("CIAM_SIGNING_ALGORITHM") or "RS256"
if CIAM_SIGNING_ALGORITHM not in {"RS256", "ES256"}:
    raise ImproperlyConfigured("CIAM_SIGNING_ALGORITHM must be RS256 or ES256")
# Optional separate secrets; by default both are derived from SECRET_KEY with HKDF.
CIAM_KEY_ENCRYPTION_SECRET = env_str("CIAM_KEY_ENCRYPTION_SECRET") or SECRET_KEY
CIAM_CLIENT_SECRET_PEPPER = env_str("CIAM_CLIENT_SECRET_PEPPER") or SECRET_KEY
# Opt-in: client-credentials access tokens committed without waiting for the disk (PostgreSQL's
# synchronous_commit=off, for that token's transaction only). If the database itself crashes
# within 600 ms (3 x wal_writer_delay) of issuing one, that token is lost and answers inactive;
# its client asks again. Revocations, rotations, codes and every other write always wait.
# Durability is the operator's choice: off unless set.
CIAM_CC_TOKEN_ASYNC_COMMIT = env_bool("CIAM_CC_TOKEN_ASYNC_COMMIT", False)
# How often each process adds its count of issued tokens to the dashboard's hourly rows.
CIAM_STATS_FLUSH_SECONDS = env_int("CIAM_STATS_FLUSH_SECONDS", 2, minimum=0)
# Largest JSON body the admin API reads, in bytes.
CIAM_API_MAX_BODY = env_int("CIAM_API_MAX_BODY", 1024 * 1024, minimum=1024)
# Dynamic client registration (RFC 7591/7592) at /oauth2/register: off unless turned on.
CIAM_DCR_ENABLED = env_bool("CIAM_DCR_ENABLED", False)

OAUTH2_PROVIDER_APPLICATION_MODEL = "clients.Client"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth.Grant"
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "oauth.DeviceGrant"

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": CIAM_ISSUER,
    "OAUTH2_VALIDATOR_CLASS": "ciam.oauth.validator.CiamValidator",
    "OAUTH2_SERVER_CLASS": "ciam.oauth.server.CiamServer",
    "OIDC_SERVER_CLASS": "ciam.oauth.server.CiamServer",
    "OAUTH2_BACKEND_CLASS": "ciam.oauth.server.CiamOAuthLibCore",
    "SCOPES_BACKEND_CLASS": "ciam.oauth.scopes.ClientScopes",
    "ACCESS_TOKEN_GENERATOR": "ciam.oauth.tokens.generate_access_token",
    "REFRESH_TOKEN_GENERATOR": "ciam.oauth.tokens.generate_refresh_token",
    # Per-client lifespans are applied by ciam.oauth.server.CiamServer (a callable per request).
    "ACCESS_TOKEN_EXPIRE_SECONDS": CIAM_ACCESS_TOKEN_LIFESPAN,
    "ID_TOKEN_EXPIRE_SECONDS": CIAM_ID_TOKEN_LIFESPAN,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": CIAM_AUTHORIZATION_CODE_LIFESPAN,
    # DOT applies this after the access token expired (idle lifetime of a refresh token).
    "REFRESH_TOKEN_EXPIRE_SECONDS": CIAM_REFRESH_TOKEN_LIFESPAN,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "PKCE_REQUIRED": True,
    "CLIENT_SECRET_HASHER": "argon2",
    "DEFAULT_SCOPES": [],
    "SCOPES": {},
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    "ALLOWED_SCHEMES": ["https", "http"],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": False,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "REQUEST_APPROVAL_PROMPT": "force",
    # The toolkit's hook looks device codes up in clear; ours are digests (ciam.oauth.device).
    "OAUTH_PRE_TOKEN_VALIDATION": [],
}

# --- REST framework (admin API, issue 5) -----------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["ciam.api.authentication.AdminBearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["ciam.api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ciam.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CIAM admin API",
    "DESCRIPTION": "Ory Hydra v2's admin API dialect, with authentication: every /admin endpoint needs an "
    "admin API token (ciam_pat_...) or a client-credentials access token with ciam:admin.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SECURITY": [{"adminBearer": []}],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ciam.api.schema.add_error_responses",
        "ciam.api.schema.add_public_paths",
    ],
}

# --- Logging ---------------------------------------------------------------------------------
# Request lines are logged without query strings by Django; tokens and secrets travel in bodies
# and headers, which are never logged.

LOG_LEVEL = (env_str("LOG_LEVEL") or "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django installs its own console handler on "django"; route it through ours, once.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.db.backends": {"level": "INFO"},
        "oauthlib": {"level": "INFO"},
        "oauth2_provider": {"level": "INFO"},
    },
}
