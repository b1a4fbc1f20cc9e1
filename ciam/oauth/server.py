"""The oauthlib server and django-oauth-toolkit backend we run.

- PKCE: `S256` only, refused at the authorization request itself (before a person consents),
  challenge and verifier checked against RFC 7636's syntax.
- Per-client access-token lifespans.
- Repeated parameters reach oauthlib (the toolkit keeps only the last one), so a duplicated
  parameter is `invalid_request` as RFC 6749 §3.1 requires.
"""

import re

from oauth2_provider.oauth2_backends import OAuthLibCore
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.openid import Server

from ciam.oauth.tokens import access_token_lifespan

# RFC 7636 §4.1: code_verifier = 43*128unreserved; §4.2: S256 challenge = BASE64URL(SHA256) = 43 chars.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


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


class CiamServer(Server):
    def __init__(self, request_validator, **kwargs):
        kwargs["token_expires_in"] = access_token_lifespan
        super().__init__(request_validator, **kwargs)
        # The authorization code flow only: implicit and hybrid answer unsupported_response_type
        # (RFC 9700 §2.1.2), whatever a client's registration says.
        self._response_types = {"code": self.auth_grant_choice}
        # The OpenID grant proxies to its own OAuth2 grant: both need the checks.
        for grant in (self.auth_grant, self.openid_connect_auth):
            grant.custom_validators.post_auth.append(require_s256)
            grant.custom_validators.pre_token.append(check_code_verifier_syntax)


class CiamOAuthLibCore(OAuthLibCore):
    def extract_body(self, request):
        return [(key, value) for key, values in request.POST.lists() for value in values]
