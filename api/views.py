"""Plain Django views of the API's URL space."""

from __future__ import annotations

from django.views.decorators.common import no_append_slash
from django.views.decorators.csrf import csrf_exempt

from api.errors import error


@csrf_exempt
@no_append_slash  # /api/search/ must not be redirected or matched: it is a 404 with a hint
def not_found(request, rest: str = ""):
    """Any /api/... path no endpoint has: a JSON 404, never Django's HTML page."""
    path = request.path
    hint = ""
    if path.endswith("/") and len(path) > len("/api/"):
        hint = f" (API paths have no trailing slash: {path.rstrip('/')})"
    return error(404, f"no API endpoint at {path}{hint}; the endpoints are listed at /api/docs")
