"""RP-initiated logout (ciam.oauth.views.logout)."""

import pytest

from tests.helpers import confidential_tokens, query_of, signed_in

pytestmark = pytest.mark.django_db


def test_logout_with_a_valid_hint_ends_the_session_and_returns_to_the_client(flow, confidential_client):

    body = confidential_tokens(flow, confidential_client)

    response = flow.web.get(
        "/oauth2/sessions/logout",
        {
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": "https://app.example.com/bye",
            "state": "bye-state",
        },
    )

    assert response.status_code == 302
    assert response["Location"].startswith("https://app.example.com/bye")
    assert query_of(response["Location"])["state"] == "bye-state"
    assert "_auth_user_id" not in flow.web.session


def test_logout_without_a_hint_asks_for_confirmation(flow):
    response = flow.web.get("/oauth2/sessions/logout")
    assert response.status_code == 200
    assert b"Sign out" in response.content


def test_logout_with_an_unknown_client_id_is_a_400_page_not_a_500(flow):
    # Found by the property-based tests: the toolkit's lookup raised DoesNotExist.
    response = flow.web.get(
        "/oauth2/sessions/logout",
        {"client_id": "c-nope", "post_logout_redirect_uri": "https://app.example.com/bye"},
    )
    assert response.status_code == 400
    assert "Location" not in response


def test_rp_initiated_logout_without_a_hint_asks_before_signing_out(user):
    web = signed_in(user)
    page = web.get("/oauth2/sessions/logout")
    assert page.status_code == 200 and "Sign out" in page.content.decode()
    assert "_auth_user_id" in web.session
