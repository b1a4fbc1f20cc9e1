"""Secrets shown once, across a redirect, without ever resting in the database in clear.

The session lives in the database, so the value is encrypted (Fernet, key derived from the
deployment secret) before it goes in, and removed the first time it is read.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.http import HttpRequest

from ciam.oauth.crypto import derive_key

_KEY = "ciam_once"


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    import base64

    return Fernet(base64.urlsafe_b64encode(derive_key(secret, "console-one-time-secrets")))


def flash_secret(request: HttpRequest, name: str, value: str) -> None:
    stored = dict(request.session.get(_KEY, {}))
    stored[name] = _fernet(settings.SECRET_KEY).encrypt(value.encode()).decode()
    request.session[_KEY] = stored


def pop_secret(request: HttpRequest, name: str) -> str | None:
    stored = dict(request.session.get(_KEY, {}))
    token = stored.pop(name, None)
    if token is None:
        return None
    request.session[_KEY] = stored
    try:
        return _fernet(settings.SECRET_KEY).decrypt(token.encode(), ttl=600).decode()
    except InvalidToken:
        return None
