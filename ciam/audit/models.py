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
    def detail_summary(self) -> str:
        """The detail as `key=value` pairs, lists space-joined, for tables."""

        def show(value):
            return " ".join(map(str, value)) if isinstance(value, list) else str(value)

        return ", ".join(f"{key}={show(value)}" for key, value in (self.detail or {}).items())
