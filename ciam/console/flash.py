"""Secrets shown once, across a redirect, without ever resting in the database in clear.

The session lives in the database, so the value is encrypted (Fernet, key derived from the
deployment secret) before it goes in, and removed the first time it is read.
"""

from cryptography.fernet import InvalidToken
from django.http import HttpRequest

from ciam.lib.crypto import fernet

_KEY = "ciam_once"
_PURPOSE = "console-one-time-secrets"


def flash_secret(request: HttpRequest, name: str, value: str) -> None:
    stored = dict(request.session.get(_KEY, {}))
    stored[name] = fernet(_PURPOSE).encrypt(value.encode()).decode()
    request.session[_KEY] = stored


def pop_secret(request: HttpRequest, name: str) -> str | None:
    stored = dict(request.session.get(_KEY, {}))
    token = stored.pop(name, None)
    if token is None:
        return None
    request.session[_KEY] = stored
    try:
        return fernet(_PURPOSE).decrypt(token.encode(), ttl=600).decode()
    except InvalidToken:
        return None
