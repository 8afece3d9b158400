"""Log lines: time, level, logger and request id; JSON or text; every line written once."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import logs

REPO = Path(__file__).resolve().parents[2]


def _record(message="hello %s", args=("world",), name="retrieval.api", level=logging.WARNING, **extra):
    record = logging.LogRecord(name, level, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_json_lines_hold_time_level_logger_request_id_and_extra_fields():
    token = logs.REQUEST_ID.set("req-42")
    try:
        record = _record(status=503)
        logs.RequestIdFilter().filter(record)
    finally:
        logs.REQUEST_ID.reset(token)
    entry = json.loads(logs.JsonFormatter().format(record))
    assert entry["level"] == "WARNING" and entry["logger"] == "retrieval.api"
    assert entry["message"] == "hello world" and entry["request_id"] == "req-42" and entry["status"] == 503
    assert entry["time"].endswith("Z") and "T" in entry["time"]


def test_json_keeps_an_exception_on_its_one_line():
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["exc_type"] == "ValueError" and "Traceback" in entry["exc_trace"]


def test_text_lines_are_readable_with_the_request_id():
    line = logs.TextFormatter().format(_record(request_id="abc"))
    assert " WARNING retrieval.api [abc] hello world" in line
    assert line[:4].isdigit()  # starts with the date


@pytest.mark.parametrize(("header", "kept"), [("abc-123", True), ("a" * 128, True), ("", False), (None, False),
                                             ("a" * 129, False), ("bad id\nINFO forged", False), ("<x>", False)])
def test_a_callers_request_id_is_kept_only_when_sane(header, kept):
    value = logs.request_id_from(header)
    assert (value == header) is kept
    if not kept:
        assert len(value) == 32 and int(value, 16) >= 0


def _run_django(code: str, **env) -> subprocess.CompletedProcess:
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    script = "import django, logging; django.setup(); " + code
    return subprocess.run([sys.executable, "-c", script], cwd=REPO, env=environ, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_each_record_is_written_once(log_format):
    """Django's default handlers printed records of the `django` loggers a second time (DEBUG on, locally)."""
    result = _run_django(
        "logging.getLogger('django.security.csrf').warning('marker-csrf'); "
        "logging.getLogger('django.request').error('marker-request'); "
        "logging.getLogger('retrieval.api').warning('marker-app')",
        DJANGO_DEBUG="true", LOG_FORMAT=log_format,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    for marker in ("marker-csrf", "marker-request", "marker-app"):
        assert sum(marker in line for line in lines) == 1, result.stderr
    if log_format == "json":
        entries = [json.loads(line) for line in lines if "marker" in line]
        assert {entry["logger"] for entry in entries} == {"django.security.csrf", "django.request", "retrieval.api"}


def test_production_logs_json_by_default(tmp_path):
    from config.tests.test_production import manage, production_env

    environment = production_env(tmp_path)
    environment.pop("LOG_FORMAT", None)
    result = manage(environment, "shell", "-c", "from django.conf import settings; print(settings.LOG_FORMAT)")
    assert result.stdout.strip().splitlines()[-1:] == ["json"], result.stdout + result.stderr
