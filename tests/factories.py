"""Factories for the models the tests need, made through the services (as the product makes them)."""

import itertools

from ciam.accounts.models import User
from clients.services import ClientWithSecret, client_create
from tests.helpers import CALLBACK, PASSWORD

_numbers = itertools.count(1)


def make_user(*, email: str | None = None, password: str | None = PASSWORD, **fields) -> User:
    """A person who can sign in with PASSWORD (an e-mail of their own unless given)."""
    email = email or f"person{next(_numbers)}@example.com"
    return User.objects.create_user(email=email, password=password, **fields)


def make_client(**fields) -> ClientWithSecret:
    """A client registered through clients.services; keyword arguments are Hydra's field names."""
    return client_create(actor_label="tests", **fields)


def make_public_client(**fields) -> ClientWithSecret:
    """A public CLI client (authorization code + PKCE, refresh tokens) redirecting to CALLBACK."""
    return make_client(
        **{
            "client_name": "Public CLI",
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid profile email",
            "redirect_uris": [CALLBACK],
            **fields,
        }
    )


def make_m2m_client(**fields) -> ClientWithSecret:
    """A machine-to-machine client (client credentials, client_secret_basic)."""
    return make_client(
        **{
            "client_name": "Machine",
            "grant_types": ["client_credentials"],
            "scope": "email",
            "token_endpoint_auth_method": "client_secret_basic",
            **fields,
        }
    )
