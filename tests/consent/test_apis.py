"""The admin API for consent sessions (consent.apis)."""

import pytest

from consent.models import Consent

pytestmark = pytest.mark.django_db


def test_consent_session_deletion_needs_a_valid_combination(api, user):
    assert api.delete(f"/admin/oauth2/auth/sessions/consent?subject={user.pk}").status_code == 400
    assert (
        api.delete(f"/admin/oauth2/auth/sessions/consent?subject={user.pk}&client=x&all=true").status_code
        == 400
    )
    assert api.delete("/admin/oauth2/auth/sessions/consent").status_code == 400
    assert api.get("/admin/oauth2/auth/sessions/consent").status_code == 400
    assert api.get("/admin/oauth2/auth/sessions/consent?subject=not-a-uuid").json() == []


def test_a_subjects_consent_sessions_are_its_own(api, user, other_user, public_client, confidential_client):
    Consent.objects.create(user=user, client=public_client.client, scopes=["openid"], remember=True)
    Consent.objects.create(
        user=other_user, client=confidential_client.client, scopes=["email"], remember=True
    )
    mine = api.get(f"/admin/oauth2/auth/sessions/consent?subject={user.pk}").json()
    assert [s["consent_request"]["client"]["client_id"] for s in mine] == [public_client.client.client_id]
    # Revoking all of one subject's consents leaves the other's.
    assert api.delete(f"/admin/oauth2/auth/sessions/consent?subject={user.pk}&all=true").status_code == 204
    assert not Consent.objects.filter(user=user).exists() and Consent.objects.filter(user=other_user).exists()
