"""405 as JSON: a hidden operation answers the methods an endpoint does not take (django-ninja's own 405 is
plain text), before authentication, as the API always did."""

from __future__ import annotations

import inspect
import re

from api.errors import error

ALL = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]


def only(router, path: str, *allowed: str) -> None:
    """Add to `router` a hidden operation at `path` that answers every method but `allowed` with a JSON 405."""
    def not_allowed(request, **path_params):
        return error(405, f"method {request.method} not allowed; use {' or '.join(allowed)}", Allow=", ".join(allowed))

    names = re.findall(r"{(\w+)}", path)
    not_allowed.__name__ = "not_allowed_" + "_".join(re.findall(r"\w+", path))
    # the path's parameters, as django-ninja reads them from the signature
    not_allowed.__signature__ = inspect.Signature(
        [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=str) for name in names])
    router.api_operation([m for m in ALL if m not in allowed], path, auth=None, include_in_schema=False)(not_allowed)
