"""The admin API for consent sessions (consent.apis)."""

import pytest
from django.test import Client as DjangoClient

from ciam.api.services import admin_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(db):
    return admin_token_create(actor=None, name="api tests")[1]


@pytest.fixture
def api(token):
    return DjangoClient(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_consent_session_deletion_needs_a_valid_combination(api, user):
    assert api.delete(f"/admin/oauth2/auth/sessions/consent?subject={user.pk}").status_code == 400
    assert (
        api.delete(f"/admin/oauth2/auth/sessions/consent?subject={user.pk}&client=x&all=true").status_code
        == 400
    )
    assert api.delete("/admin/oauth2/auth/sessions/consent").status_code == 400
    assert api.get("/admin/oauth2/auth/sessions/consent").status_code == 400
    assert api.get("/admin/oauth2/auth/sessions/consent?subject=not-a-uuid").json() == []
