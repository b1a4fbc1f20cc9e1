"""Sessions in the database, each with the person it signs in (Django's documented extension of
its database session engine: AbstractBaseSession and a SessionStore that names it).

The user key (and the login session ID, `sid`) lets every session of a person be found with one
indexed query (sign them out
everywhere when they are locked, deactivated or change their password) instead of decoding every
session, and deleting the person deletes their sessions.
"""

import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


class Session(AbstractBaseSession):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="sessions"
    )
    # The sign-in's login session ID (the ID tokens' `sid`), so one can be ended by it.
    sid = models.CharField(max_length=64, blank=True, db_index=True)
    # What the person's own sessions page shows: where and with what they signed in, and when
    # the session was last used (to within ciam.accounts.authn.SEEN_EVERY).
    signed_in_at = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    @classmethod
    def get_session_store_class(cls):
        return SessionStore


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls):
        return Session

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        try:
            session.user_id = uuid.UUID(str(data.get("_auth_user_id")))
        except (TypeError, ValueError):
            session.user_id = None
        signed_in = data.get("ciam_auth")
        if not isinstance(signed_in, dict):
            signed_in = {}
        session.sid = str(signed_in.get("sid", ""))[:64]
        session.signed_in_at = _moment(signed_in.get("auth_time"))
        session.last_seen = _moment(signed_in.get("seen") or signed_in.get("auth_time"))
        session.ip_address = signed_in.get("ip") or None
        session.user_agent = str(signed_in.get("ua", ""))[:300]
        return session


def _moment(epoch) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=UTC) if isinstance(epoch, int | float) else None
