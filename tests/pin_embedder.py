"""Loaded with `-p` (pytest.ini) before Django reads its settings: the test run's default EMBEDDER is hashing.

Most tests were written for the hashing embedder's vectors (shared words, dimension 384 unless a test
sets another) and some start `manage.py` in a subprocess, which inherits this environment. Users get
wordllama by default; the wordllama tests (textmodels/tests/test_wordllama.py, the identity and reembed
tests) choose it explicitly. An EMBEDDER already in the environment is left alone.
"""

import os

os.environ.setdefault("EMBEDDER", "hashing")
