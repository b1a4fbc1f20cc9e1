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


def test_a_rule_on_a_typed_scope_is_reported_under_the_input_that_holds_it():
    made = form(grant_types=["client_credentials"], extra_scopes="ciam:not-ours")
    assert not made.is_valid()
    assert "ciam:not-ours" in made.errors["extra_scopes"][0]
    assert "scopes" not in made.errors  # not under the catalogue's checkboxes


def test_the_response_type_follows_the_grant_types():
    """Unticking Authorization code for Client credentials needs nothing else: the `code` response
    type goes with the grant that uses it (the defaults' openid may stay, it is harmless)."""
    made = form(grant_types=["client_credentials"], scopes=["openid"])
    assert made.is_valid(), made.errors
    assert made.service_fields()["response_types"] == []
    made = form(redirect_uris=["https://app.example.com/cb"], grant_types=["authorization_code"])
    assert made.is_valid(), made.errors
    assert made.service_fields()["response_types"] == ["code"]


@pytest.mark.parametrize("preset", ["web", "public", "m2m", "device"])
def test_each_preset_gives_a_client_the_rules_accept(preset):
    values = ClientForm.initial_for_preset(preset)
    fields = {**values, "pkce_required": "on" if values["pkce_required"] else ""}
    if "authorization_code" in values["grant_types"]:
        fields["redirect_uris"] = ["https://app.example.com/cb"]
    made = form(**{k: v for k, v in fields.items() if v not in ("", [])})
    assert made.is_valid(), made.errors


def test_the_first_field_in_error_on_the_page_gets_the_focus():
    made = form(client_name="", metadata="[")
    assert not made.is_valid()
    assert made.first_error() == "client_name"
    assert "autofocus" in str(made["client_name"]) and 'aria-invalid="true"' in str(made["client_name"])
    assert 'aria-describedby="id_client_name_error"' in str(made["client_name"])


def test_a_public_client_always_requires_pkce():
    made = form(
        client_type="public", redirect_uris=["http://127.0.0.1:9/cb"], grant_types=["authorization_code"]
    )
    assert made.is_valid(), made.errors
    assert made.service_fields()["pkce_required"] is True
    assert made.service_fields()["token_endpoint_auth_method"] == "none"
