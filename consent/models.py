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
    # Until when a remembered consent counts (a consent app's `remember_for`); None: until revoked.
    remember_until = models.DateTimeField(null=True, blank=True)
    granted_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="consent_one_per_user_client")]
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"Consent #{self.pk}"

    def covers(self, scopes: list[str]) -> bool:
        """True if a remembered consent, not past its `remember_until`, allows every one of `scopes`."""
        if self.remember_until is not None and self.remember_until <= timezone.now():
            return False
        return self.remember and set(scopes) <= set(self.scopes)
