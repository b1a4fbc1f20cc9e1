"""The public paths are a contract (Ory Hydra v2's): each literal path is pinned here, once."""

import pytest
from django.urls import resolve, reverse

CONTRACT = {
    "oauth:discovery": "/.well-known/openid-configuration",
    "oauth:jwks": "/.well-known/jwks.json",
    "oauth:authorize": "/oauth2/auth",
    "oauth:token": "/oauth2/token",
    "oauth:revoke": "/oauth2/revoke",
    "oauth:introspect": "/oauth2/introspect",
    "oauth:userinfo": "/userinfo",
    "oauth:logout": "/oauth2/sessions/logout",
    "oauth:device-authorization": "/oauth2/device/auth",
    "clients:api-clients": "/admin/clients",
    "api:introspect": "/admin/oauth2/introspect",
    "clients:api-tokens": "/admin/oauth2/tokens",
    "consent:api-consents": "/admin/oauth2/auth/sessions/consent",
    "accounts:api-identities": "/admin/identities",
    "api:schema": "/admin/openapi.json",
    "api:docs": "/admin/docs/",
    "api:version": "/version",
    "api:admin-version": "/admin/version",
    "health-alive": "/health/alive",
    "health-ready": "/health/ready",
    "accounts:login": "/login",
    "consent:logout": "/logout",
    "consent:consent": "/consent",
    "consent:error": "/error",
    "accounts:registration": "/registration",
    "consent:device": "/device",
    "consent:account-apps": "/account/apps",
    "console:dashboard": "/console/",
    "clients:list": "/console/clients/",
    "clients:register": "/oauth2/register",
    "accounts:user-list": "/console/users/",
}


@pytest.mark.parametrize("name, path", sorted(CONTRACT.items()))
def test_the_public_path_is_fixed(name, path):
    assert reverse(name) == path
    assert resolve(path).view_name == name
