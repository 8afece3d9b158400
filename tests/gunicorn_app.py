"""A WSGI app for tests/test_gunicorn_worker.py: answers every request after a short wait (as a search would)."""

import time


def app(environ, start_response):
    environ["wsgi.input"].read()
    time.sleep(0.005)
    body = b'{"ok": true}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
