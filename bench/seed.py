"""Seed a benchmark database: realistic content plus the fixtures each scenario needs.

Run inside Django (bench/run.py calls `manage.py shell -c`). Writes the scenario fixtures
(client IDs, secrets, tokens) as JSON to the path given in CIAM_BENCH_FIXTURES.
"""

import json
import os
import secrets
from datetime import timedelta

import pyotp
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from ciam.accounts.factors import seal_totp_secret
from ciam.accounts.models import TotpFactor, User
from ciam.api.services import admin_token_create
from ciam.lib.crypto import token_checksum
from ciam.oauth.keys import current_signing_key
from ciam.oauth.models import AccessToken, RefreshToken
from clients.models import Client
from clients.services import client_create, hash_client_secret
from consent.models import Consent

CLIENTS, USERS, LIVE_TOKENS = 1000, 10_000, 100_000
REFRESH_TOKENS = int(os.environ.get("CIAM_BENCH_REFRESH_TOKENS", "60000"))
FLOW_USERS = 400
# People with an authenticator app, for the sign-in flows with TOTP: each can sign in about once
# per 30-second step (a code is accepted once), so there are more of them than flows in a run.
TOTP_USERS = 2000
PASSWORD = "bench password 1234"
CALLBACK = "http://127.0.0.1:9/callback"


def _bulk(model, rows, size=5000):
    for start in range(0, len(rows), size):
        model.objects.bulk_create(rows[start : start + size])


def seed() -> dict:
    now = timezone.now()
    current_signing_key()
    generated = hash_client_secret(secrets.token_urlsafe(32), generated=True)
    with transaction.atomic():
        _bulk(
            Client,
            [
                Client(
                    client_id=f"c-bulk-{n:05d}",
                    name=f"App {n}",
                    client_type="confidential",
                    grant_types=["client_credentials"],
                    scope="email",
                    client_secret=generated,
                    hash_client_secret=True,
                    secret_kind="generated",
                    authorization_grant_type="client-credentials",
                    algorithm="RS256",
                )
                for n in range(CLIENTS - 5)
            ],
        )
    password = make_password(PASSWORD)  # one Argon2 hash, shared: hashing 10,000 would take minutes
    with transaction.atomic():
        _bulk(
            User,
            [
                User(
                    email=f"user{n:05d}@bench.example",
                    password=password,
                    name=f"User {n}",
                    email_verified=True,
                )
                for n in range(USERS)
            ],
        )

    cc = client_create(client_name="bench-cc", grant_types=["client_credentials"], scope="email")
    jwt = client_create(
        client_name="bench-jwt",
        grant_types=["client_credentials"],
        scope="email",
        access_token_strategy="jwt",
        audience=["https://api.bench.example"],
    )
    rs = client_create(client_name="bench-rs", grant_types=["client_credentials"], scope="ciam:introspect")
    app = client_create(
        client_name="bench-app",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        scope="openid profile email",
        redirect_uris=[CALLBACK],
    ).client
    some_user = User.objects.order_by("email").first()

    # 100,000 live access tokens of the bulk clients (what a busy deployment holds).
    bulk_clients = list(Client.objects.filter(client_id__startswith="c-bulk-").values_list("pk", flat=True))
    expires = now + timedelta(hours=1)
    _bulk(
        AccessToken,
        [
            AccessToken(
                token_checksum=token_checksum(secrets.token_urlsafe(32)),
                token="",
                application_id=bulk_clients[n % len(bulk_clients)],
                expires=expires,
                scope="email",
                resource=[],
            )
            for n in range(LIVE_TOKENS)
        ],
    )

    # A live token to introspect, one with openid for userinfo.
    probe = "ciam_at_" + secrets.token_urlsafe(32)
    AccessToken.objects.create(
        token_checksum=token_checksum(probe),
        token="",
        application=cc.client,
        expires=now + timedelta(days=1),
        scope="email",
        resource=[],
    )
    user_access = "ciam_at_" + secrets.token_urlsafe(32)
    AccessToken.objects.create(
        token_checksum=token_checksum(user_access),
        token="",
        application=app,
        user=some_user,
        expires=now + timedelta(days=1),
        scope="openid profile email",
        resource=[],
    )

    # Refresh tokens to rotate, each used once (rotation forbids reuse).
    raw_refresh = ["ciam_rt_" + secrets.token_urlsafe(32) for _ in range(REFRESH_TOKENS)]
    users = list(User.objects.order_by("email").values_list("pk", flat=True)[:FLOW_USERS])
    access_rows = [
        AccessToken(
            token_checksum=token_checksum(secrets.token_urlsafe(32)),
            token="",
            application=app,
            user_id=users[n % len(users)],
            expires=expires,
            scope="openid email",
            resource=[],
        )
        for n in range(REFRESH_TOKENS)
    ]
    _bulk(AccessToken, access_rows)
    saved = (
        AccessToken.objects.filter(application=app, scope="openid email")
        .order_by("id")
        .values_list("pk", "user_id")
    )
    import uuid

    _bulk(
        RefreshToken,
        [
            RefreshToken(
                token_checksum=token_checksum(raw),
                token="",
                application=app,
                user_id=user_id,
                access_token_id=pk,
                token_family=uuid.uuid4(),
                resource=[],
            )
            for raw, (pk, user_id) in zip(raw_refresh, saved, strict=True)
        ],
    )

    # People with an authenticator app (set up and confirmed), for the flows with TOTP.
    totp_people = list(User.objects.order_by("-email").values_list("pk", "email")[:TOTP_USERS])
    totp_secrets = {pk: pyotp.random_base32(32) for pk, _ in totp_people}
    _bulk(
        TotpFactor,
        [
            TotpFactor(user_id=pk, secret=seal_totp_secret(totp_secrets[pk]), confirmed=now, last_step=0)
            for pk, _ in totp_people
        ],
    )

    # People with a remembered consent to the app, for the login flow scenarios.
    _bulk(
        Consent,
        [
            Consent(user_id=pk, client=app, scopes=["openid", "profile", "email"], remember=True)
            for pk in users + [pk for pk, _ in totp_people]
        ],
    )
    admin_token = admin_token_create(actor=None, name="bench")[1]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "cc": {"client_id": cc.client.client_id, "secret": cc.client_secret},
        "jwt": {"client_id": jwt.client.client_id, "secret": jwt.client_secret},
        "rs": {"client_id": rs.client.client_id, "secret": rs.client_secret},
        "app": {"client_id": app.client_id, "redirect_uri": CALLBACK},
        "probe_token": probe,
        "user_token": user_access,
        "admin_token": admin_token,
        "refresh_tokens": raw_refresh,
        "flow_users": list(User.objects.filter(pk__in=users).values_list("email", flat=True)),
        "totp_users": [[email, totp_secrets[pk]] for pk, email in totp_people],
        "password": PASSWORD,
    }


with open(os.environ["CIAM_BENCH_FIXTURES"], "w") as handle:
    json.dump(seed(), handle)
