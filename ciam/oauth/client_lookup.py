"""The client a protocol request names, read once per change rather than once per request.

The engine works with the toolkit's swappable application model (clients.models.Client,
`get_application_model()`) and relies on its `revision`, which the model bumps on every write
(`save()`, and its queryset's `update()`), whoever the writer is: a service, the shell, a
migration. A client at a given revision never changes, so each process keeps the parsed client
and checks on every request, with one small query, that its revision and whether it is enabled
are still those kept. A rotated secret, a disabled or a deleted client takes effect at once in
every process. Kept instances are read-only for the protocol code.
"""

from functools import cache

from oauth2_provider.models import get_application_model

_KEPT: dict[str, object] = {}
_LIMIT = 5000


@cache
def _revisions():
    """What the check reads of a client: three columns, by the unique client_id (no ordering)."""
    return get_application_model().objects.order_by().values_list("pk", "revision", "is_active")


def get_client(client_id):
    """The client with this ID (enabled or not), or None."""
    if not isinstance(client_id, str) or not client_id or len(client_id) > 255 or "\x00" in client_id:
        return None
    found = list(_revisions().filter(client_id=client_id))
    if not found:
        _KEPT.pop(client_id, None)
        return None
    current = found[0]
    kept = _KEPT.get(client_id)
    if kept is not None and (kept.pk, kept.revision, kept.is_active) == current:
        return kept
    client = get_application_model().objects.filter(pk=current[0]).first()
    if client is None:
        return None
    if len(_KEPT) >= _LIMIT:
        _KEPT.pop(next(iter(_KEPT)))
    _KEPT[client_id] = client
    return client


def forget_all() -> None:
    """Drop every kept client (a new process, or a test starting as one)."""
    _KEPT.clear()
