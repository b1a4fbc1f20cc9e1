"""Clients for the token, introspection and revocation endpoints, without an ORM load per request.

A parsed client is kept per process and re-validated on every request by one small query (its
revision and whether it is enabled): every write to a client goes through clients.services, which
bumps the revision, so a rotated secret, a disabled or a deleted client takes effect at once in
every process. Instances are read-only for the protocol code.

`cached(client_id)` returns the parsed client without the query: only for the client-credentials
fast path, which proves the client unchanged in the same statement that stores the token
(`fastsql.insert(..., unchanged_client=...)`), and otherwise starts again the checked way.
"""

from django.db import connection

from clients.models import Client

_CACHE: dict[str, Client] = {}
_LIMIT = 5000


def get_client(client_id: str) -> Client | None:
    if not isinstance(client_id, str) or not client_id or len(client_id) > 255:
        return None
    table = connection.ops.quote_name(Client._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, revision, is_active FROM {table} WHERE client_id = %s", [client_id])
        row = cursor.fetchone()
    if row is None:
        _CACHE.pop(client_id, None)
        return None
    pk, revision, active = row
    cached = _CACHE.get(client_id)
    if (
        cached is not None
        and cached.pk == pk
        and cached.revision == revision
        and cached.is_active == bool(active)
    ):
        return cached
    client = Client.objects.filter(pk=pk).first()
    if client is None:
        return None
    if len(_CACHE) >= _LIMIT:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[client_id] = client
    return client


def cached(client_id: str) -> Client | None:
    """The client as this process last saw it, with no query (None if not kept)."""
    return _CACHE.get(client_id) if isinstance(client_id, str) else None


def forget(client_id: str) -> None:
    _CACHE.pop(client_id, None)
