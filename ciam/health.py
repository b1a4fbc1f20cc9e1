"""GET /health/alive and GET /health/ready, for load balancers and orchestrators."""

from csp.decorators import csp_exempt
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

# Once every migration was seen applied, this process does not ask again (a deploy restarts it).
_migrations_applied = False


@csp_exempt()
@require_GET
def alive(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@csp_exempt()
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """Ready when the database answers and every migration is applied."""
    global _migrations_applied
    errors: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrations_applied:
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
            if plan:
                errors["migrations"] = f"{len(plan)} migration(s) not applied"
            else:
                _migrations_applied = True
    except DatabaseError as exc:
        errors["database"] = f"unreachable: {exc.__class__.__name__}"
    if errors:
        return JsonResponse({"errors": errors}, status=503)
    return JsonResponse({"status": "ok"})
