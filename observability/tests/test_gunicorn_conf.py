"""infrastructure/gunicorn.conf.py keeps metrics and logs right with several workers (the browser test runs it)."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "infrastructure" / "gunicorn.conf.py"


def test_multiprocess_metrics_and_one_log_format(monkeypatch, tmp_path):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setenv("DJANGO_ENV", "production")
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    try:
        config = runpy.run_path(str(CONF))
        directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]  # set in the master, before the workers fork
        assert Path(directory).is_dir()
        (Path(directory) / "counter_1.db").write_bytes(b"old")
        config["on_starting"](None)  # an earlier run's samples are not added in
        assert list(Path(directory).iterdir()) == []
        assert callable(config["child_exit"])  # a dead worker's live gauges are dropped
        assert config["accesslog"] is None  # the app logs each request once, with its id
        assert config["logconfig_dict"]["formatters"]["app"]["()"] == "core.logs.JsonFormatter"
        config["on_exit"](None)
        assert not Path(directory).exists()
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


def test_a_given_metrics_directory_is_used_and_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    config = runpy.run_path(str(CONF))
    config["on_starting"](None)
    config["on_exit"](None)
    assert tmp_path.is_dir()


def test_a_new_worker_loads_the_url_conf_and_the_embedder_before_its_first_request(monkeypatch, tmp_path, caplog):
    from django.urls import get_resolver

    from textmodels import embedders

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    config = runpy.run_path(str(CONF))
    used = []
    real = embedders.get_embedder
    monkeypatch.setattr(embedders, "get_embedder", lambda: used.append(1) or real())
    config["post_worker_init"](None)
    assert "url_patterns" in vars(get_resolver()) and used == [1]  # the URL conf is imported, the model loaded

    def broken():
        raise embedders.EmbedderError("model file missing")

    monkeypatch.setattr(embedders, "get_embedder", broken)
    config["post_worker_init"](None)  # the worker still starts; one line says why it is not warm
    assert "worker warm-up failed: EmbedderError: model file missing" in caplog.text
