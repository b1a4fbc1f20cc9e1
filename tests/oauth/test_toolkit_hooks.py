"""The toolkit's and oauthlib's hooks this service overrides: each is public, and each keeps the
signature it had when the override was written. An upgrade of django-oauth-toolkit or oauthlib
that changes one fails here, naming the hook to look at again; an override of a private method
(or one of a method the library no longer has) fails too."""

import inspect

import pytest
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views.oidc import RPInitiatedLogoutView
from oauthlib.oauth2.rfc8628.request_validator import RequestValidator as DeviceRequestValidator

from ciam.oauth.server import CiamOAuthLibCore
from ciam.oauth.validator import CiamValidator
from ciam.oauth.views.logout import LogoutView

# (our class, the library's class) -> {hook: the library's signature}
PINNED = {
    (CiamValidator, OAuth2Validator): {
        "client_authentication_required": "(self, request, *args, **kwargs)",
        "authenticate_client": "(self, request, *args, **kwargs)",
        "authenticate_client_id": "(self, client_id, request, *args, **kwargs)",
        "validate_client_id": "(self, client_id, request, *args, **kwargs)",
        "validate_grant_type": "(self, client_id, grant_type, client, request, *args, **kwargs)",
        "validate_response_type": "(self, client_id, response_type, client, request, *args, **kwargs)",
        "validate_scopes": "(self, client_id, scopes, client, request, *args, **kwargs)",
        "is_pkce_required": "(self, client_id, request)",
        "validate_silent_login": "(self, request)",
        "validate_silent_authorization": "(self, request)",
        "validate_user_match": "(self, id_token_hint, scopes, claims, request)",
        "rotate_refresh_token": "(self, request)",
        "save_authorization_code": "(self, client_id, code, request, *args, **kwargs)",
        "validate_code": "(self, client_id, code, client, request, *args, **kwargs)",
        "confirm_redirect_uri": "(self, client_id, code, redirect_uri, client, *args, **kwargs)",
        "invalidate_authorization_code": "(self, client_id, code, request, *args, **kwargs)",
        "get_code_challenge": "(self, code, request)",
        "get_code_challenge_method": "(self, code, request)",
        "get_authorization_code_scopes": "(self, client_id, code, redirect_uri, request)",
        "get_authorization_code_nonce": "(self, client_id, code, redirect_uri, request)",
        "validate_refresh_token": "(self, refresh_token, client, request, *args, **kwargs)",
        "save_bearer_token": "(self, token, request, *args, **kwargs)",
        "get_oidc_issuer_endpoint": "(self, request)",
        "get_additional_claims": "(self, request)",
        "get_oidc_claims": "(self, token, token_handler, request)",
        "get_id_token_dictionary": "(self, token, token_handler, request)",
        "finalize_id_token": "(self, id_token, token, token_handler, request)",
    },
    (CiamValidator, DeviceRequestValidator): {
        "validate_device_code": "(self, client_id, code, request, *args, **kwargs)",
    },
    (LogoutView, RPInitiatedLogoutView): {
        "get": "(self, request, *args, **kwargs)",
        "post": "(self, request, *args, **kwargs)",
        "validate_logout_request_user": "(self, id_token_hint, client_id)",
        "validate_post_logout_redirect_uri": "(self, application, post_logout_redirect_uri)",
        "get_request_application": "(self, id_token, client_id)",
        "do_logout": "(self, application=None, post_logout_redirect_uri=None, state=None, token_user=None)",
    },
    (CiamOAuthLibCore, OAuthLibCore): {
        "extract_headers": "(self, request)",
        "extract_body": "(self, request)",
    },
}
# Our own helpers on those classes (not hooks of the library).
OWN = {
    (CiamValidator, "_grant"),
    (CiamValidator, "_id_token_lifespan"),
    (LogoutView, "_to_logout_app"),
    (LogoutView, "_from_logout_app"),
}
HOOKS = [
    (ours, base, name, signature)
    for (ours, base), hooks in PINNED.items()
    for name, signature in hooks.items()
]


@pytest.mark.parametrize(
    "ours, base, name, signature", HOOKS, ids=[f"{o.__name__}.{n}" for o, _, n, _ in HOOKS]
)
def test_each_overridden_hook_keeps_the_librarys_signature(ours, base, name, signature):
    assert name in vars(ours), f"{ours.__name__} no longer overrides {name}: remove it from PINNED"
    assert not name.startswith("_")
    library = getattr(base, name, None)
    assert library is not None, f"{base.__name__} no longer has {name}: our override is never called"
    assert str(inspect.signature(library)) == signature, (
        f"{base.__module__}.{base.__name__}.{name} changed its signature: check {ours.__name__}.{name}"
    )


@pytest.mark.parametrize("ours", sorted({o for o, _ in PINNED}, key=lambda c: c.__name__))
def test_nothing_else_of_the_library_is_overridden(ours):
    pinned = {name for (o, _), hooks in PINNED.items() if o is ours for name in hooks}
    methods = {
        name for name, value in vars(ours).items() if callable(value) or isinstance(value, staticmethod)
    }
    methods -= {name for name in methods if name.startswith("__")}
    unexpected = methods - pinned - {name for o, name in OWN if o is ours}
    assert not unexpected, f"pin these overrides (or make them our own helpers): {sorted(unexpected)}"
    for o, name in OWN:
        if o is ours:
            for _, base in PINNED:
                assert not hasattr(base, name), f"{name} now shadows {base.__name__}.{name}"
