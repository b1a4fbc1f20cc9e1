"""Device authorization (RFC 8628), /account/apps, and signing out."""

import re
from datetime import timedelta

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone

from ciam.audit.models import AuditEvent
from ciam.oauth.models import AccessToken, DeviceGrant
from consent.models import Consent
from tests.helpers import DEVICE, PASSWORD, authorize, basic, consent, enter_code, form_post, signed_in
from tests.helpers import device_decide as decide
from tests.helpers import device_poll as poll
from tests.helpers import device_start as start

pytestmark = pytest.mark.django_db


@pytest.fixture
def tv(make_client):
    return make_client(
        client_name="Living-room TV",
        token_endpoint_auth_method="none",
        grant_types=[DEVICE, "refresh_token"],
        scope="openid email offline_access",
    ).client


def test_device_authorization_issues_codes_as_rfc8628_says(tv, settings):
    body = start(tv.client_id)
    assert body["device_code"].startswith("ciam_dc_")
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", body["user_code"])
    assert body["verification_uri"] == settings.CIAM_ISSUER + "/device"
    assert body["verification_uri_complete"].endswith("/device?user_code=" + body["user_code"])
    assert body["expires_in"] == 600 and body["interval"] == 5
    stored = DeviceGrant.objects.get()
    assert body["device_code"] not in stored.device_code and body["user_code"] not in stored.user_code


def test_the_whole_device_flow(tv, user):
    body = start(tv.client_id)
    pending = poll(tv.client_id, body["device_code"])
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"

    web = signed_in(user)
    page = enter_code(web, body["user_code"].lower().replace("-", " "))  # forgiving input
    assert page.status_code == 200 and "Living-room TV" in page.content.decode()
    done = decide(web, page, scopes=["email"])
    assert "all set" in done.content.decode()

    DeviceGrant.objects.update(last_polled=timezone.now() - timedelta(seconds=10))
    tokens = poll(tv.client_id, body["device_code"])
    assert tokens.status_code == 200, tokens.content
    assert tokens.json()["access_token"].startswith("ciam_at_")
    assert tokens.json()["refresh_token"].startswith("ciam_rt_")
    assert set(tokens.json()["scope"].split()) == {"openid", "email"}
    assert Consent.objects.filter(user=user, client=tv).exists()
    # Exactly once.
    assert poll(tv.client_id, body["device_code"]).json()["error"] == "invalid_grant"


def test_polling_too_fast_is_slow_down_and_the_interval_grows(tv):
    body = start(tv.client_id)
    assert poll(tv.client_id, body["device_code"]).json()["error"] == "authorization_pending"
    assert poll(tv.client_id, body["device_code"]).json()["error"] == "slow_down"
    assert DeviceGrant.objects.get().interval == 10


def test_a_denied_device_gets_access_denied(tv, user):
    body = start(tv.client_id)
    web = signed_in(user)
    decide(web, enter_code(web, body["user_code"]), allow=False)
    assert poll(tv.client_id, body["device_code"]).json()["error"] == "access_denied"


def test_an_expired_device_code_is_expired_token(tv, user):
    body = start(tv.client_id)
    DeviceGrant.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert poll(tv.client_id, body["device_code"]).json()["error"] == "expired_token"
    page = enter_code(signed_in(user), body["user_code"])
    assert page.status_code == 400 and "not valid or has expired" in page.content.decode()


def test_a_device_code_of_another_client_is_invalid_grant(tv, make_client):
    other = make_client(client_name="other", token_endpoint_auth_method="none", grant_types=[DEVICE]).client
    body = start(tv.client_id)
    assert poll(other.client_id, body["device_code"]).json()["error"] == "invalid_grant"


def test_a_client_without_the_device_grant_is_refused(public_client):
    response = form_post(DjangoClient(), "/oauth2/device/auth", {"client_id": public_client.client.client_id})
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"


def test_device_authorization_checks_scope_and_client(tv):
    response = form_post(
        DjangoClient(), "/oauth2/device/auth", {"client_id": tv.client_id, "scope": "profile"}
    )
    assert response.json()["error"] == "invalid_scope"
    unknown = form_post(DjangoClient(), "/oauth2/device/auth", {"client_id": "c-unknown"})
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"


def test_a_confidential_device_client_must_authenticate(make_client):
    result = make_client(client_name="box", grant_types=[DEVICE], scope="email")
    body = form_post(
        DjangoClient(),
        "/oauth2/device/auth",
        {"scope": "email"},
        HTTP_AUTHORIZATION=basic(result.client.client_id, result.client_secret),
    ).json()
    assert body["device_code"]
    unauth = form_post(
        DjangoClient(),
        "/oauth2/token",
        {"grant_type": DEVICE, "device_code": body["device_code"], "client_id": result.client.client_id},
    )
    assert unauth.status_code == 401


def test_the_device_page_needs_a_signed_in_person(tv):
    response = DjangoClient().get("/device", {"user_code": "BCDF-GHJK"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=/device")


def test_guessing_user_codes_is_throttled(user):
    web = signed_in(user)
    for _ in range(10):
        assert enter_code(web, "BCDF-GHJK").status_code == 400
    blocked = enter_code(web, "BCDF-GHJK")
    assert blocked.status_code == 429 and "Retry-After" in blocked
    assert AuditEvent.objects.filter(event="device.code_invalid").count() == 10


def test_a_device_decision_cannot_be_replayed(tv, user):
    body = start(tv.client_id)
    web = signed_in(user)
    page = enter_code(web, body["user_code"])
    decide(web, page, allow=False)
    again = decide(web, page, allow=True)
    assert again.status_code == 400
    assert DeviceGrant.objects.get().status == DeviceGrant.DENIED


# --- /account/apps ------------------------------------------------------------------------------


def test_connected_apps_lists_grants_and_revoking_one_ends_its_tokens(user, public_client):
    from tests.helpers import exchange, pkce_pair, query_of

    web = signed_in(user)
    verifier, challenge = pkce_pair()
    location = authorize(web, public_client.client.client_id, code_challenge=challenge)["Location"]
    code = query_of(consent(web, location, scopes=["email"])["Location"])["code"]
    tokens = exchange(DjangoClient(), public_client.client.client_id, code, verifier).json()

    page = web.get("/account/apps").content.decode()
    assert "Public CLI" in page and "See your e-mail address" in page and "Remove access" in page

    revoked = web.post(f"/account/apps/{public_client.client.client_id}/revoke")
    assert revoked.status_code == 302
    assert not Consent.objects.filter(user=user).exists()
    assert not AccessToken.objects.filter(user=user).exists()
    refresh = form_post(
        DjangoClient(),
        "/oauth2/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": public_client.client.client_id,
        },
    )
    assert refresh.status_code == 400
    assert AuditEvent.objects.filter(event="consent.revoked", actor=user).exists()
    assert "No connected apps yet" in web.get("/account/apps").content.decode()


def test_connected_apps_needs_sign_in_and_revocation_needs_post_and_csrf(user, public_client):
    assert DjangoClient().get("/account/apps")["Location"].startswith("/login?next=/account/apps")
    web = signed_in(user)
    assert web.get(f"/account/apps/{public_client.client.client_id}/revoke").status_code == 405
    strict = DjangoClient(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(f"/account/apps/{public_client.client.client_id}/revoke").status_code == 403


def test_revoking_touches_only_the_persons_own_tokens(user, public_client, django_user_model):
    bob = django_user_model.objects.create_user(email="bob@example.com", password=PASSWORD)
    for person in (user, bob):
        web = signed_in(person)
        consent(web, authorize(web, public_client.client.client_id)["Location"], scopes=["email"])
    signed_in(user).post(f"/account/apps/{public_client.client.client_id}/revoke")
    assert Consent.objects.filter(user=bob).exists() and not Consent.objects.filter(user=user).exists()


# --- Signing out -------------------------------------------------------------------------------


def test_logout_asks_on_get_and_signs_out_on_post(user):
    web = signed_in(user)
    assert "Sign out?" in web.get("/logout").content.decode()
    assert "_auth_user_id" in web.session
    done = web.post("/logout")
    assert "You have signed out" in done.content.decode()
    assert "_auth_user_id" not in web.session
    assert AuditEvent.objects.filter(event="logout", actor=user).exists()


def test_rp_initiated_logout_without_a_hint_asks_before_signing_out(user):
    web = signed_in(user)
    page = web.get("/oauth2/sessions/logout")
    assert page.status_code == 200 and "Sign out" in page.content.decode()
    assert "_auth_user_id" in web.session
