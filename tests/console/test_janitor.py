"""`janitor` (ciam.console.management.commands.janitor): deletes what can no longer be used, and
nothing that can."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ciam.accounts import factors
from ciam.accounts.models import EmailCode, TotpFactor
from ciam.accounts.selfservice import recovery_link, verification_send
from ciam.oauth.models import AccessToken, AuthorizationFlow, DeviceGrant, Grant, LogoutFlow, RefreshToken
from consent.models import Consent
from tests.factories import make_user
from tests.helpers import cc, refresh, tokens_for

pytestmark = pytest.mark.django_db


def age(queryset, field, seconds):
    queryset.update(**{field: timezone.now() - timedelta(seconds=seconds)})


def test_it_deletes_expired_tokens_and_codes_but_keeps_a_live_refresh_token_usable(
    flow, public_client, m2m_client
):
    live_family = tokens_for(flow, public_client.client)
    cc(m2m_client.client.client_id, m2m_client.client_secret)
    age(AccessToken.objects.all(), "expires", 10)  # every access token expired just now
    age(Grant.objects.all(), "expires", 10)

    call_command("janitor", "--no-progress")

    assert not AccessToken.objects.filter(application=m2m_client.client).exists()  # no refresh token: gone
    assert AccessToken.objects.filter(application=public_client.client).exists()  # its refresh token is alive
    assert not Grant.objects.exists()
    assert refresh(public_client.client.client_id, live_family["refresh_token"]).status_code == 200


def test_it_deletes_refresh_tokens_past_their_idle_lifetime_and_old_revoked_ones(
    flow, public_client, settings
):
    first = tokens_for(flow, public_client.client)
    refresh(public_client.client.client_id, first["refresh_token"])  # the first one is now revoked
    lifespan = settings.CIAM_REFRESH_TOKEN_LIFESPAN
    age(RefreshToken.objects.filter(revoked__isnull=False), "revoked", lifespan + 10)
    call_command("janitor", "--no-progress")
    assert RefreshToken.objects.count() == 1  # the live one stays
    age(AccessToken.objects.all(), "expires", lifespan + 10)
    call_command("janitor", "--no-progress")
    assert not RefreshToken.objects.exists() and not AccessToken.objects.exists()


def test_it_deletes_expired_device_codes_and_stale_consents(user, public_client, settings):
    DeviceGrant.objects.create(
        device_code="a" * 64,
        user_code="b" * 64,
        client_id="c-x",
        expires=timezone.now() - timedelta(seconds=5),
    )
    Consent.objects.create(user=user, client=public_client.client, scopes=["openid"], remember=False)
    Consent.objects.filter().update(
        updated_at=timezone.now() - timedelta(seconds=settings.CIAM_REFRESH_TOKEN_LIFESPAN + 5)
    )
    call_command("janitor", "--no-progress")
    assert not DeviceGrant.objects.exists() and not Consent.objects.exists()


def test_dry_run_counts_and_deletes_nothing(m2m_client, capsys):
    cc(m2m_client.client.client_id, m2m_client.client_secret)
    age(AccessToken.objects.all(), "expires", 10)
    call_command("janitor", "--dry-run")
    assert "access tokens: 1 would be deleted" in capsys.readouterr().out
    assert AccessToken.objects.count() == 1


def test_it_deletes_in_batches_with_a_progress_bar(m2m_client, capsys):
    for _ in range(7):
        cc(m2m_client.client.client_id, m2m_client.client_secret)
    age(AccessToken.objects.all(), "expires", 10)
    call_command("janitor", "--batch-size", "3")
    captured = capsys.readouterr()
    assert "access tokens: 7 deleted" in captured.out
    assert "7/7" in captured.err
    with pytest.raises(CommandError):
        call_command("janitor", "--batch-size", "0")


def test_keep_if_younger_spares_recently_expired_rows(m2m_client):
    cc(m2m_client.client.client_id, m2m_client.client_secret)
    age(AccessToken.objects.all(), "expires", 30)
    call_command("janitor", "--no-progress", "--keep-if-younger", "60")
    assert AccessToken.objects.count() == 1


def test_it_deletes_expired_sign_in_consent_and_logout_flows(public_client, capsys):
    old = timezone.now() - timedelta(days=2)
    AuthorizationFlow.objects.create(
        client=public_client.client, request_path="/oauth2/auth?x", browser="b", expires_at=old
    )
    live = AuthorizationFlow.objects.create(
        client=public_client.client,
        request_path="/oauth2/auth?y",
        browser="b",
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    LogoutFlow.objects.create(
        request_path="/oauth2/sessions/logout", browser="b", challenge="c", expires_at=old
    )
    call_command("janitor")
    assert list(AuthorizationFlow.objects.all()) == [live] and not LogoutFlow.objects.exists()


def test_it_deletes_emailed_codes_past_their_lifespan(user):
    recovery_link(user=user, actor=None)
    verification_send(user=user)
    age(EmailCode.objects.filter(purpose=EmailCode.Purpose.VERIFY), "expires", 10)
    call_command("janitor", "--no-progress")
    assert list(EmailCode.objects.values_list("purpose", flat=True)) == [EmailCode.Purpose.RECOVER]


def test_it_deletes_authenticator_set_ups_left_unconfirmed_for_a_day(user):
    from_yesterday = make_user(email="left@example.com")
    factors.totp_setup(from_yesterday)
    age(TotpFactor.objects.all(), "created", 86400 + 60)
    factors.totp_setup(user)  # just begun: kept
    call_command("janitor", "--no-progress")
    assert list(TotpFactor.objects.values_list("user__email", flat=True)) == [user.email]
