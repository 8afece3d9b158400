"""405 as JSON: a hidden operation answers the methods an endpoint does not take (django-ninja's own 405 is
plain text), before authentication, as the API always did."""

from __future__ import annotations

from api.errors import error

ALL = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]


def only(router, path: str, *allowed: str) -> None:
    def not_allowed(request, **kwargs):
        return error(405, f"method {request.method} not allowed; use {' or '.join(allowed)}", Allow=", ".join(allowed))

    not_allowed.__name__ = f"not_allowed_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}"
    router.api_operation([m for m in ALL if m not in allowed], path, auth=None, include_in_schema=False)(not_allowed)
