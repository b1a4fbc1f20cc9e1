"""OpenAPI details drf-spectacular cannot infer: the bearer scheme of the admin API, its error
answers, and the public OAuth2 and OpenID Connect endpoints (plain Django views)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AdminBearerScheme(OpenApiAuthenticationExtension):
    target_class = "ciam.api.authentication.AdminBearerAuthentication"
    name = "adminBearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An admin API token (ciam_pat_...), or a client-credentials access token with the ciam:admin"
                " scope."
            ),
        }


ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
    "required": ["error"],
}
ERROR_STATUSES = {
    "400": "The request is malformed or breaks a rule; error_description names the field.",
    "401": "No valid admin token (WWW-Authenticate says how to authenticate).",
    "404": "Unknown resource.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "409": "The resource changed meanwhile.",
    "413": "The body is too large.",
    "415": "Unsupported media type.",
    "503": "The database is unreachable.",
}


def add_error_responses(result, generator, request, public):
    """Post-processing hook: every operation may answer Hydra's error object on these statuses."""
    result.setdefault("components", {}).setdefault("schemas", {})["GenericError"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/GenericError"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, description in ERROR_STATUSES.items():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
    return result


# --- The public OAuth2 and OpenID Connect endpoints ---------------------------------------------
# Plain Django views (the protocol engine, ciam.oauth), not DRF ones: described here so that the
# one document covers every endpoint a client or an SDK calls.

PUBLIC_TAG = "Public OAuth2 and OpenID Connect"
_OAUTH_ERROR = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "example": "invalid_request"},
        "error_description": {"type": "string"},
    },
    "required": ["error"],
}


def _form(properties: dict, required: list[str]) -> dict:
    return {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": properties,
                    **({"required": required} if required else {}),
                }
            }
        },
    }


def _string(description: str) -> dict:
    return {"type": "string", "description": description}


def _query(name: str, description: str, required: bool = False) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string"},
    }


def _json(description: str, properties: dict | None = None) -> dict:
    schema: dict = {"type": "object"}
    if properties:
        schema["properties"] = properties
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _page(description: str, *, or_error: bool = False) -> dict:
    """A page for the person's browser (or, for input no page can show, an OAuth2 error object)."""
    content: dict = {"text/html": {"schema": {"type": "string"}}}
    if or_error:
        content["application/json"] = {"schema": {"$ref": "#/components/schemas/OAuth2Error"}}
    return {"description": description, "content": content}


_OAUTH_ERRORS = {
    "400": {
        "description": "The request is malformed or refused (RFC 6749 §5.2).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OAuth2Error"}}},
    },
    "401": {
        "description": "The client could not be authenticated (invalid_client); WWW-Authenticate says how.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OAuth2Error"}}},
    },
    "429": {
        "description": "Too many failed client authentications from this client or address; Retry-After."
    },
}
# client_secret_basic, or client_secret_post / none (in the body)
_CLIENT_AUTH: list[dict] = [{"clientBasic": []}, {}]
_TOKEN_RESPONSE = _json(
    "The tokens (RFC 6749 §5.1): access_token, token_type Bearer, expires_in, scope, and refresh_token and "
    "id_token when granted.",
    {
        "access_token": {"type": "string"},
        "token_type": {"type": "string", "example": "Bearer"},
        "expires_in": {"type": "integer"},
        "scope": {"type": "string"},
        "refresh_token": {"type": "string"},
        "id_token": {"type": "string"},
    },
)

PUBLIC_PATHS: dict[str, dict] = {
    "/.well-known/openid-configuration": {
        "get": {
            "operationId": "discoverOidcConfiguration",
            "summary": "OpenID Connect discovery",
            "description": (
                "The provider's metadata (OpenID Connect Discovery 1.0): issuer, endpoints, supported grant "
                "types, scopes, claims, signing algorithms. Also at /.well-known/oauth-authorization-server "
                "(RFC 8414)."
            ),
            "responses": {"200": _json("The provider metadata.")},
        }
    },
    "/.well-known/jwks.json": {
        "get": {
            "operationId": "discoverJsonWebKeys",
            "summary": "Public signing keys",
            "description": (
                "The JSON Web Key Set (RFC 7517) that verifies ID tokens and JWT access tokens: the current "
                "key and earlier ones still needed. Public parts only."
            ),
            "responses": {
                "200": _json("A JWK Set.", {"keys": {"type": "array", "items": {"type": "object"}}})
            },
        }
    },
    "/oauth2/auth": {
        "get": {
            "operationId": "oAuth2Authorize",
            "summary": "Authorization endpoint",
            "description": (
                "Start an authorization code flow (RFC 6749 §4.1, PKCE RFC 7636, OpenID Connect Core §3.1) "
                "in the person's browser. The person signs in and consents (built-in pages, or the "
                "deployment's login and consent app), then the browser is redirected to redirect_uri with "
                "code and state, or with error. Only response_type=code; PKCE S256 is required for public "
                "clients."
            ),
            "parameters": [
                _query("response_type", "code", True),
                _query("client_id", "The client's ID.", True),
                _query(
                    "redirect_uri", "One of the client's registered redirect URIs (required with openid)."
                ),
                _query("scope", "Space-separated scopes, e.g. openid profile email offline_access."),
                _query("state", "An opaque value returned unchanged (CSRF protection)."),
                _query("nonce", "Bound into the ID token (OpenID Connect)."),
                _query("code_challenge", "BASE64URL(SHA256(code_verifier))."),
                _query("code_challenge_method", "S256."),
                _query("prompt", "none, login or consent."),
                _query("max_age", "Seconds since the person last signed in, at most."),
                _query("login_hint", "The e-mail address to sign in with."),
                _query("id_token_hint", "An earlier ID token: who is expected to be signed in."),
            ],
            "responses": {
                "200": _page("The sign-in or consent page, when the browser stays here."),
                "302": {
                    "description": (
                        "To the sign-in or consent page, or back to redirect_uri with code or error."
                    )
                },
                "400": _page(
                    "A page explaining the problem when redirect_uri cannot be trusted.", or_error=True
                ),
            },
        }
    },
    "/oauth2/token": {
        "post": {
            "operationId": "oauth2TokenExchange",
            "summary": "Token endpoint",
            "description": (
                "Exchange a grant for tokens (RFC 6749 §3.2): authorization_code (with code_verifier), "
                "refresh_token (rotated; a reused one revokes its family), client_credentials, and the "
                "device code grant (RFC 8628). Confidential clients authenticate with HTTP Basic or "
                "client_secret_post."
            ),
            "security": _CLIENT_AUTH,
            "requestBody": _form(
                {
                    "grant_type": _string(
                        "authorization_code, refresh_token, client_credentials, or "
                        "urn:ietf:params:oauth:grant-type:device_code."
                    ),
                    "code": _string("The authorization code (authorization_code)."),
                    "redirect_uri": _string("The redirect URI the authorization request used."),
                    "code_verifier": _string("The PKCE verifier."),
                    "refresh_token": _string("The refresh token (refresh_token)."),
                    "device_code": _string("The device code (device grant)."),
                    "scope": _string(
                        "Scopes to ask for (client_credentials) or to narrow to (refresh_token)."
                    ),
                    "client_id": _string("The client's ID, for public clients and client_secret_post."),
                    "client_secret": _string("The secret, for client_secret_post."),
                },
                ["grant_type"],
            ),
            "responses": {"200": _TOKEN_RESPONSE, **_OAUTH_ERRORS},
        }
    },
    "/oauth2/revoke": {
        "post": {
            "operationId": "revokeOAuth2Token",
            "summary": "Revoke a token",
            "description": (
                "RFC 7009: revoke one of the client's access or refresh tokens (a refresh token with its "
                "access token). Answers 200 even for an unknown token, as the RFC says."
            ),
            "security": _CLIENT_AUTH,
            "requestBody": _form(
                {
                    "token": _string("The token."),
                    "token_type_hint": _string("access_token or refresh_token."),
                },
                ["token"],
            ),
            "responses": {
                "200": {"description": "Revoked, or there was nothing to revoke."},
                **_OAUTH_ERRORS,
            },
        }
    },
    "/oauth2/introspect": {
        "post": {
            "operationId": "introspectOAuth2TokenPublic",
            "summary": "Introspect a token (resource servers)",
            "description": (
                "RFC 7662, for resource servers: a client allowed the ciam:introspect scope (or a bearer "
                "token with it) learns whether a token is active, and its scope, client_id, sub, aud and "
                "exp."
            ),
            "security": [{"clientBasic": []}, {"adminBearer": []}],
            "requestBody": _form(
                {"token": _string("The token."), "token_type_hint": _string("A hint.")}, ["token"]
            ),
            "responses": {
                "200": _json("active, and the token's claims when it is.", {"active": {"type": "boolean"}}),
                **_OAUTH_ERRORS,
            },
        }
    },
    "/oauth2/device/auth": {
        "post": {
            "operationId": "oAuth2DeviceFlow",
            "summary": "Start a device authorization",
            "description": (
                "RFC 8628 §3.1: a device (TV, CLI) gets a device_code to poll the token endpoint with and a "
                "user_code the person enters at verification_uri."
            ),
            "security": _CLIENT_AUTH,
            "requestBody": _form({"client_id": _string("The client's ID."), "scope": _string("Scopes.")}, []),
            "responses": {
                "200": _json(
                    "The codes and where the person goes.",
                    {
                        "device_code": {"type": "string"},
                        "user_code": {"type": "string"},
                        "verification_uri": {"type": "string"},
                        "verification_uri_complete": {"type": "string"},
                        "expires_in": {"type": "integer"},
                        "interval": {"type": "integer"},
                    },
                ),
                **_OAUTH_ERRORS,
            },
        }
    },
    "/userinfo": {
        "get": {
            "operationId": "getOidcUserInfo",
            "summary": "UserInfo",
            "description": (
                "OpenID Connect Core §5.3: the signed-in person's claims that the access token's scopes "
                "release (sub always; name, email... with profile, email). Also POST."
            ),
            "security": [{"accessToken": []}],
            "responses": {
                "200": _json("The claims.", {"sub": {"type": "string"}}),
                "401": {"description": "No valid access token (WWW-Authenticate: Bearer error=...)."},
            },
        }
    },
    "/oauth2/sessions/logout": {
        "get": {
            "operationId": "revokeOidcSession",
            "summary": "Sign out (RP-initiated logout)",
            "description": (
                "OpenID Connect RP-Initiated Logout 1.0: end the person's session, then go to a registered "
                "post_logout_redirect_uri (with state), or to a signed-out page."
            ),
            "parameters": [
                _query("id_token_hint", "An ID token the client got."),
                _query("client_id", "The client, when there is no id_token_hint."),
                _query("post_logout_redirect_uri", "One of the client's registered post-logout URIs."),
                _query("state", "Returned unchanged."),
            ],
            "responses": {
                "200": _page("A page asking the person to confirm, or saying they are signed out."),
                "302": {"description": "Onward, once the person is signed out."},
                "400": _page(
                    "A page explaining the problem: an unknown client, an unregistered "
                    "post_logout_redirect_uri, an ID token not issued here.",
                    or_error=True,
                ),
            },
        }
    },
    "/oauth2/register": {
        "post": {
            "operationId": "createOidcDynamicClient",
            "summary": "Dynamic client registration",
            "description": (
                "RFC 7591 (when CIAM_DCR_ENABLED is on): register a client and get its client_id, secret and"
                " a registration_access_token to manage it at /oauth2/register/{client_id} (RFC 7592)."
            ),
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "responses": {
                "201": _json("The registered client."),
                **_OAUTH_ERRORS,
                "404": {"description": "Dynamic client registration is off (CIAM_DCR_ENABLED)."},
            },
        }
    },
    "/health/alive": {
        "get": {
            "operationId": "isAlive",
            "summary": "Liveness",
            "description": "200 while the process serves requests.",
            "responses": {"200": _json('{"status": "ok"}')},
        }
    },
    "/health/ready": {
        "get": {
            "operationId": "isReady",
            "summary": "Readiness",
            "description": "200 when the database answers; 503 otherwise.",
            "responses": {"200": _json("Ready."), "503": _json("Not ready: the database is unreachable.")},
        }
    },
}


def add_public_paths(result, generator, request, public):
    """Post-processing hook (after add_error_responses): the public endpoints, with their own
    authentication (none, or the client's) and OAuth2 errors."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["OAuth2Error"] = _OAUTH_ERROR
    schemes = components.setdefault("securitySchemes", {})
    schemes["clientBasic"] = {
        "type": "http",
        "scheme": "basic",
        "description": "client_secret_basic: the client ID and secret (RFC 6749 §2.3.1).",
    }
    schemes["accessToken"] = {"type": "http", "scheme": "bearer", "description": "An access token."}
    paths = result.setdefault("paths", {})
    for path, item in PUBLIC_PATHS.items():
        paths[path] = {method: {"tags": [PUBLIC_TAG], "security": [], **op} for method, op in item.items()}
    result.setdefault("tags", []).append(
        {"name": PUBLIC_TAG, "description": "The endpoints applications and SDKs call; no admin token."}
    )
    return result
