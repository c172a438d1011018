from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from scheduler.health import scheduler_health


@csrf_exempt  # it changes nothing, and a POST must get the JSON 405 below, not the CSRF middleware's HTML 403
def healthz(request):
    """For uptime monitors: 200 when the database answers and the scheduler sweeps on time, 503 otherwise.
    GET or HEAD (many monitors send HEAD); any other method is a JSON 405."""
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
        response["Allow"] = "GET, HEAD"
        return response
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        health = scheduler_health(now=timezone.now())
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    body = {
        "status": "ok" if health.healthy else "degraded",
        "database": "ok",
        "scheduler": {
            "healthy": health.healthy,
            "last_sweep_at": health.last_sweep_at.isoformat() if health.last_sweep_at else None,
            "message": health.message,
        },
    }
    return JsonResponse(body, status=200 if health.healthy else 503)
