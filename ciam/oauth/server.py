"""The oauthlib server and django-oauth-toolkit backend we run.

The server is composed from oauthlib's public endpoint and grant classes, as its own
pre-configured `Server` is, with only what this service offers:
- response type `code` alone: implicit and hybrid answer unsupported_response_type (RFC 9700
  §2.1.2), whatever a client's registration says;
- grants authorization_code (OpenID Connect aware), refresh_token, client_credentials and the
  device code; any other grant type (`password` included) answers unsupported_grant_type;
- bearer tokens (opaque or RFC 9068 JWT, both looked up by digest), per-client lifespans;
- PKCE `S256` only, refused at the authorization request itself (before a person consents),
  challenge and verifier checked against RFC 7636's syntax;
- the authorization request's own checks (`check_authorization_parameters`): no parameter
  twice, `redirect_uri` present in an OpenID request, only the advertised `response_mode`, no
  request objects, a `claims` parameter that is JSON.

Repeated parameters reach oauthlib (the toolkit keeps only the last one), so a duplicated
parameter is `invalid_request` as RFC 6749 §3.1 requires.
"""

import json
import re

from oauth2_provider.oauth2_backends import OAuthLibCore
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.endpoints import (
    AuthorizationEndpoint,
    IntrospectEndpoint,
    ResourceEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749.grant_types import (
    AuthorizationCodeGrant as OAuth2AuthorizationCodeGrant,
)
from oauthlib.oauth2.rfc6749.grant_types import ClientCredentialsGrant
from oauthlib.oauth2.rfc6749.tokens import BearerToken
from oauthlib.oauth2.rfc8628.grant_types import DeviceCodeGrant
from oauthlib.openid.connect.core import exceptions as openid_errors
from oauthlib.openid.connect.core.endpoints.userinfo import UserInfoEndpoint
from oauthlib.openid.connect.core.grant_types import AuthorizationCodeGrant, RefreshTokenGrant
from oauthlib.openid.connect.core.grant_types.dispatchers import (
    AuthorizationCodeGrantDispatcher,
    AuthorizationTokenGrantDispatcher,
)

from ciam.oauth.tokens import access_token_lifespan

# RFC 7636 §4.1: code_verifier = 43*128unreserved; §4.2: S256 challenge = BASE64URL(SHA256) = 43 chars.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


# The response modes this server answers in (discovery lists them).
RESPONSE_MODES = ("query",)


def check_authorization_parameters(request) -> dict:
    """The authorization request's checks oauthlib leaves to the server, once its client and
    redirect URI are known (so that errors can go back to the client, with its `state`).

    - RFC 6749 §3.1: no parameter may be sent twice (oauthlib checks five of them).
    - OIDC Core §3.1.2.1: an OpenID request must name its `redirect_uri`, even when the client
      registered only one (an error page: there is no URI the request named to send it to).
    - OAuth 2.0 Multiple Response Types §2.1: only the advertised response modes.
    - OIDC Core §6: request objects are not supported (`request_not_supported`,
      `request_uri_not_supported`, as discovery says).
    - OIDC Core §5.5: a `claims` parameter must be a JSON object (oauthlib would raise its error
      without the request, so that it could not reach the client).
    """
    repeated = sorted(request.duplicate_params)
    if repeated:
        raise errors.InvalidRequestError(
            description=f"Each parameter may be sent once; repeated: {', '.join(repeated)} (RFC 6749 §3.1).",
            request=request,
        )
    if "openid" in (request.scopes or ()) and request.using_default_redirect_uri:
        raise errors.InvalidRequestFatalError(
            description="An OpenID Connect request must include redirect_uri (OIDC Core §3.1.2.1).",
            request=request,
        )
    if request.response_mode is not None and request.response_mode not in RESPONSE_MODES:
        raise errors.InvalidRequestError(
            description=f"Unsupported response_mode; this server answers in: {', '.join(RESPONSE_MODES)}.",
            request=request,
        )
    if getattr(request, "request", None) is not None:
        raise openid_errors.RequestNotSupported(request=request)
    if getattr(request, "request_uri", None) is not None:
        raise openid_errors.RequestURINotSupported(request=request)
    if request.claims is not None and not isinstance(request.claims, dict):
        try:
            claims = json.loads(request.claims)
        except ValueError:
            claims = None
        if not isinstance(claims, dict):
            raise errors.InvalidRequestError(
                description="The claims parameter must be a JSON object (OIDC Core §5.5).", request=request
            )
    return {}


def require_s256(request) -> dict:
    if request.code_challenge is None:
        return {}
    if request.code_challenge_method != "S256":
        raise errors.InvalidRequestError(
            description="Unsupported code_challenge_method; only S256 is accepted (RFC 7636 §4.3).",
            request=request,
        )
    if not _S256_CHALLENGE.fullmatch(request.code_challenge):
        raise errors.InvalidRequestError(
            description="code_challenge must be the 43-character BASE64URL(SHA256(code_verifier)).",
            request=request,
        )
    return {}


def check_code_verifier_syntax(request) -> None:
    verifier = getattr(request, "code_verifier", None)
    if verifier is not None and not _VERIFIER.fullmatch(verifier):
        raise errors.InvalidRequestError(
            description="code_verifier must be 43 to 128 characters from A-Z a-z 0-9 - . _ ~ "
            "(RFC 7636 §4.1).",
            request=request,
        )


def _authorization_checks() -> dict[str, list]:
    """oauthlib's custom validators (new lists for each grant)."""
    return {
        "pre_auth": [check_authorization_parameters],
        "post_auth": [require_s256],
        "pre_token": [check_code_verifier_syntax],
    }


class CiamServer(
    AuthorizationEndpoint,
    TokenEndpoint,
    ResourceEndpoint,
    RevocationEndpoint,
    IntrospectEndpoint,
    UserInfoEndpoint,
):
    def __init__(
        self,
        request_validator,
        token_expires_in=None,
        token_generator=None,
        refresh_token_generator=None,
        **kwargs,
    ):
        # The toolkit passes its server settings (OAUTH2_PROVIDER): the token generators are ours
        # (ciam.oauth.tokens); lifespans are per client; device codes are ours (ciam.oauth.device).
        # Per-client access-token lifespans (a callable per request), whatever the settings say.
        bearer = BearerToken(
            request_validator, token_generator, access_token_lifespan, refresh_token_generator
        )
        oauth2_code = OAuth2AuthorizationCodeGrant(request_validator, **_authorization_checks())
        # The OpenID grant passes them to the OAuth2 grant it wraps (and adds its own to that list).
        openid_code = AuthorizationCodeGrant(request_validator, **_authorization_checks())
        AuthorizationEndpoint.__init__(
            self,
            default_response_type="code",
            response_types={
                "code": AuthorizationCodeGrantDispatcher(default_grant=oauth2_code, oidc_grant=openid_code)
            },
            default_token_type=bearer,
        )
        TokenEndpoint.__init__(
            self,
            default_grant_type="authorization_code",
            grant_types={
                "authorization_code": AuthorizationTokenGrantDispatcher(
                    request_validator, default_grant=oauth2_code, oidc_grant=openid_code
                ),
                "refresh_token": RefreshTokenGrant(request_validator),
                "client_credentials": ClientCredentialsGrant(request_validator),
                "urn:ietf:params:oauth:grant-type:device_code": DeviceCodeGrant(request_validator),
            },
            default_token_type=bearer,
        )
        ResourceEndpoint.__init__(self, default_token="Bearer", token_types={"Bearer": bearer})
        RevocationEndpoint.__init__(self, request_validator)
        IntrospectEndpoint.__init__(self, request_validator)
        UserInfoEndpoint.__init__(self, request_validator)
        self.request_validator = request_validator


class CiamOAuthLibCore(OAuthLibCore):
    # The request headers oauthlib reads: client credentials, the content type, CORS's Origin.
    # (The toolkit hands it a copy of every header, which oauthlib then copies again.)
    HEADERS = {"HTTP_AUTHORIZATION": "Authorization", "CONTENT_TYPE": "Content-Type", "HTTP_ORIGIN": "Origin"}

    def extract_headers(self, request):
        headers = {}
        for meta, name in self.HEADERS.items():
            if meta in request.META:
                headers[meta] = headers[name] = request.META[meta]
        return headers

    def extract_body(self, request):
        # Every value of a repeated parameter, so that oauthlib refuses the duplicate.
        return [(key, value) for key, values in request.POST.lists() for value in values]
