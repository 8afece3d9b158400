"""One POST to an OpenAI-compatible endpoint (embeddings, chat completions), with errors that say what to fix.

Transient answers (429, 5xx, connection failures) are raised as they are, for the caller's retry policy;
anything else becomes `error_class` naming the setting to check. The API key never reaches a message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def post_json(url: str, path: str, payload: dict, *, api_key: str, timeout: float, role: str,
              setting_prefix: str, model: str, error_class: type[Exception]) -> dict:
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(f"{url}{path}", data=json.dumps(payload).encode(), headers=headers,
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (a configured URL)
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):
            raise error_class(f"the {role} at {url} rejected the credentials (HTTP {error.code}); "
                              f"check {setting_prefix}_API_KEY") from None
        if error.code in (429, 500, 502, 503, 504):
            raise  # transient: the retry policy handles it
        raise error_class(f"the {role} at {url} answered HTTP {error.code} for model {model!r}; "
                          f"check {setting_prefix}_URL and {setting_prefix}_MODEL") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise error_class(f"the {role} at {url} did not answer JSON") from None
