from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One thing that happened: who did what, to which client, from where, when.

    Written by services in the same transaction as the change it records.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    event = models.CharField(max_length=64, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text so the record survives the deletion of the user or client it names.
    actor_label = models.CharField(max_length=254, blank=True)
    client_id = models.CharField(max_length=255, blank=True, db_index=True)
    subject = models.CharField(max_length=254, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["event", "-at"], name="audit_event_at_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.event} {self.actor_label or '-'}"

    @property
    def label(self) -> str:
        """The event in words ("Client created"), for people."""
        return EVENT_LABELS.get(self.event) or self.event.replace(".", " ").replace("_", " ").capitalize()

    @property
    def detail_items(self) -> list[tuple[str, str]]:
        """The detail as (key in words, value) pairs, lists joined, for a small key/value list."""

        def show(value) -> str:
            if isinstance(value, list):
                return ", ".join(map(str, value)) or "none"
            if isinstance(value, bool):
                return "yes" if value else "no"
            return str(value)

        return [(key.replace("_", " "), show(value)) for key, value in (self.detail or {}).items()]


# What each event is called on the console's audit log (and in exports, beside its id).
EVENT_LABELS = {
    "admin_token.created": "API token created",
    "admin_token.revoked": "API token revoked",
    "client.created": "Client created",
    "client.updated": "Client updated",
    "client.deleted": "Client deleted",
    "client.enabled": "Client enabled",
    "client.disabled": "Client disabled",
    "client.secret_rotated": "Client secret rotated",
    "client.tokens_revoked": "Client's tokens revoked",
    "client.tried": "Client tried from the console",
    "consent.granted": "Consent given",
    "consent.denied": "Consent refused",
    "consent.revoked": "Consent withdrawn",
    "device.code_invalid": "Wrong device code entered",
    "login.succeeded": "Signed in",
    "login.failed": "Sign-in failed",
    "login.locked": "Sign-in locked out",
    "mfa.failed": "Second factor refused",
    "mfa.locked": "Second factor locked out",
    "mfa.stepped_up": "Second factor confirmed (step-up)",
    "mfa.totp_added": "Authenticator app set up",
    "mfa.totp_removed": "Authenticator app removed",
    "mfa.passkey_added": "Passkey added",
    "mfa.passkey_refused": "Passkey refused",
    "mfa.passkey_renamed": "Passkey renamed",
    "mfa.passkey_removed": "Passkey removed",
    "mfa.recovery_codes_created": "Recovery codes made",
    "mfa.recovery_code_used": "Recovery code used",
    "mfa.reset": "Second factors reset",
    "logout": "Signed out",
    "registration.refused": "Registration refused",
    "scope.created": "Scope created",
    "scope.updated": "Scope updated",
    "scope.deleted": "Scope deleted",
    "sessions.ended": "Sessions ended",
    "signing_key.rotated": "Signing key rotated",
    "token.revoked": "Token revoked",
    "user.created": "User created",
    "user.registered": "User registered",
    "user.updated": "User updated",
    "user.deleted": "User deleted",
    "user.activated": "User activated",
    "user.deactivated": "User deactivated",
    "user.locked": "User locked",
    "user.unlocked": "User unlocked",
    "user.password_set": "Password set",
    "audit.exported": "Audit log exported",
    "verification.sent": "Verification e-mail sent",
    "email.verified": "E-mail address verified",
    "recovery.sent": "Recovery e-mail sent",
    "recovery.link_created": "Recovery link created",
    "recovery.completed": "Password reset by recovery",
    "email.changed": "E-mail address changed",
    "user.exported": "Personal data downloaded",
}
