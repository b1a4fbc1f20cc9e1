"""clients.forms.ClientForm: the console's input, checked by clients.rules in its clean()."""

import pytest
from django.http import QueryDict

from clients.forms import ClientForm

pytestmark = pytest.mark.django_db


def form(**fields) -> ClientForm:
    data = QueryDict(mutable=True)
    base = {"client_name": "App", "client_type": "confidential", "access_token_strategy": "opaque"}
    for key, value in {**base, **fields}.items():
        data.setlist(key, value if isinstance(value, list) else [value])
    return ClientForm(data)


def test_a_valid_form_gives_the_services_their_fields():
    made = form(
        redirect_uris=["https://app.example.com/cb"], grant_types=["authorization_code"], scopes=["openid"]
    )
    assert made.is_valid(), made.errors
    fields = made.service_fields()
    assert fields["token_endpoint_auth_method"] == "client_secret_basic"
    assert fields["redirect_uris"] == ["https://app.example.com/cb"] and fields["scope"] == "openid"


def test_the_rules_errors_land_on_their_inputs_with_the_fields_own_all_at_once():
    made = form(client_name="", redirect_uris=["http://evil.example/cb"], grant_types=["authorization_code"])
    assert not made.is_valid()
    assert "client_name" in made.errors  # the field's own error (required)
    assert "redirect_uris" in made.errors  # and the rule's, in the same answer
    assert "http" in made.errors["redirect_uris"][0]


def test_a_rule_on_scopes_is_reported_on_the_scope_input(settings):
    made = form(grant_types=["client_credentials"], extra_scopes="ciam:not-ours")
    assert not made.is_valid()
    assert "ciam:not-ours" in made.errors["scopes"][0]


def test_a_public_client_always_requires_pkce():
    made = form(
        client_type="public", redirect_uris=["http://127.0.0.1:9/cb"], grant_types=["authorization_code"]
    )
    assert made.is_valid(), made.errors
    assert made.service_fields()["pkce_required"] is True
    assert made.service_fields()["token_endpoint_auth_method"] == "none"
