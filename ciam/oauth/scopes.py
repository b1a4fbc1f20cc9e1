"""The scope registry and django-oauth-toolkit's scopes backend.

Known scopes are the built-in ones below plus the deployment's own (CIAM_SCOPES). A client may
be allowed any known scope; a request for a scope outside the client's list is `invalid_scope`.
No scope is ever granted by default (the toolkit's default grants `__all__`).
"""

from django.conf import settings
from oauth2_provider.scopes import BaseScopes

# Descriptions are what the consent page shows a person.
BUILTIN_SCOPES: dict[str, str] = {
    "openid": "Sign you in with your account",
    "profile": "See your name and basic profile",
    "email": "See your e-mail address",
    "offline_access": "Keep access while you are away (refresh tokens)",
    "offline": "Keep access while you are away (refresh tokens)",
    # A client allowed this scope is a resource server: it may introspect any token.
    "ciam:introspect": "Check any token presented to this service (resource servers)",
    # Only honoured in a client-credentials token: such a client may use the admin API.
    "ciam:admin": "Administer this identity service (clients, users, keys)",
}


def known_scopes() -> dict[str, str]:
    scopes = dict(BUILTIN_SCOPES)
    for name in settings.CIAM_EXTRA_SCOPES:
        scopes.setdefault(name, f"Use {name}")
    return scopes


class ClientScopes(BaseScopes):
    def get_all_scopes(self) -> dict[str, str]:
        return known_scopes()

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        if application is None:
            return list(known_scopes())
        return application.scopes

    def get_default_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        return []
