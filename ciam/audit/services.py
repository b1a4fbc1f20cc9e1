from typing import Any

from ciam.audit.models import AuditEvent


def audit_record(
    *,
    event: str,
    actor: Any = None,
    actor_label: str = "",
    client_id: str = "",
    subject: str = "",
    ip_address: str | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Write one audit row. Call it inside the transaction of the change it records.

    `actor` is a user, an API caller (labelled by its str()), or None for the system;
    `actor_label` overrides the label. `detail` must never hold a secret or a token.
    """
    if (
        actor is not None
        and getattr(actor, "pk", None) is not None
        and getattr(actor, "is_authenticated", False)
    ):
        label = actor_label or actor.email
        actor_obj = actor
    else:
        # The system, the CLI, or an API caller (an admin token or an M2M client: no user row).
        label = actor_label or (str(actor) if actor is not None else "system")
        actor_obj = None
    return AuditEvent.objects.create(
        event=event,
        actor=actor_obj,
        actor_label=label[:254],
        client_id=client_id[:255],
        subject=subject[:254],
        ip_address=ip_address,
        detail=detail or {},
    )
