"""Device authorization (RFC 8628): the endpoint, the person's /device page and the token polling."""

import re
from datetime import timedelta

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone

from ciam.audit.models import AuditEvent
from ciam.oauth.models import DeviceGrant
from consent.models import Consent
from tests.helpers import DEVICE, basic, enter_code, form_post, signed_in
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
