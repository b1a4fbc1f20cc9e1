from django.conf import settings
from django.db import models
from django.utils import timezone


class Consent(models.Model):
    """What a person allowed an application: remembered per user and client.

    A later authorization request that asks for nothing beyond `scopes` skips the consent page
    when `remember` is set. Revoking it (the person, at /account/apps, or an administrator) also
    revokes that client's tokens for that person.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="consents"
    )
    scopes = models.JSONField(default=list)
    remember = models.BooleanField(default=False)
    granted_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="consent_one_per_user_client")]
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"Consent #{self.pk}"

    def covers(self, scopes: list[str]) -> bool:
        """True if a remembered consent already allows every one of `scopes`."""
        return self.remember and set(scopes) <= set(self.scopes)


class LoginFailure(models.Model):
    """One failed sign-in: counted per e-mail and per IP address to throttle guessing.

    Rows live in the database (not process memory), so every app process sees the same counts.
    The e-mail is recorded whether or not an account exists, so the lockout reveals nothing.
    """

    email = models.CharField(max_length=254, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["email", "at"], name="loginfail_email_at_idx"),
            models.Index(fields=["ip_address", "at"], name="loginfail_ip_at_idx"),
        ]

    def __str__(self) -> str:
        return f"LoginFailure #{self.pk}"


class AccountLock(models.Model):
    """An e-mail address locked out until `until` (whether or not an account exists for it)."""

    email = models.CharField(max_length=254, unique=True)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"AccountLock {self.email}"
