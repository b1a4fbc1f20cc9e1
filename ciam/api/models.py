from django.conf import settings
from django.db import models


class AdminToken(models.Model):
    """A bearer token for the admin REST API (`ciam_pat_...`), shown once, stored as a keyed hash."""

    name = models.CharField(max_length=100)
    # The first characters after the prefix, to recognise a token in lists without revealing it.
    hint = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=128, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} (ciam_pat_{self.hint}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
