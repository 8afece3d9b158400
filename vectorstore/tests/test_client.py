"""The client module's guards that need no server."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_lite_path_in_the_milvus_uri_variable_does_not_break_the_pymilvus_import(tmp_path):
    """pymilvus parses the MILVUS_URI variable at import and rejects .db paths; vectorstore shields it."""
    env = {**os.environ, "MILVUS_URI": str(tmp_path / "x.db"), "DJANGO_SETTINGS_MODULE": "config.settings"}
    script = (
        "import django; django.setup(); import os; from django.conf import settings; "
        "from vectorstore import client; import pymilvus; "
        "assert os.environ['MILVUS_URI'] == settings.MILVUS_URI; print(client.is_lite())"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "True"
