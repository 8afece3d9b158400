"""The ingest, reconcile and delete_document commands: output, exit status, one-line errors."""

import io
import json
import re
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command

from rag_data.models import Chunk, Document
from tests.httpstub import StubServer
from ingestion.tests.support import (  # noqa: F401 (fixtures)
    assert_stores_agree,
    corpus,
    outage_stores,
    own_drift,
    stores,
)
from vectorstore import selectors as vector_selectors
from vectorstore import services as vector_services

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue()


def test_ingest_prints_a_summary_and_is_idempotent(stores, corpus):
    (corpus / "empty.md").write_bytes(b"")
    output = run("ingest", str(corpus), "--no-progress")
    assert output.splitlines()[0] == "created 4, updated 0, unchanged 0, skipped 2, failed 0"
    # Flushed at the end: every chunk is in a sealed segment, which Milvus indexes (not a growing one).
    assert vector_selectors.index_coverage()["rows"] == Chunk.objects.count()
    assert f"skipped {corpus / 'empty.md'}: empty file" in output
    assert f"skipped {corpus / 'picture.png'}: unsupported extension .png" in output
    assert re.match(r"^\d+ chunks in \d+\.\d s \(\w+ \d+\.\d s, \w+ \d+\.\d s, \w+ \d+\.\d s\)$",
                    output.splitlines()[1])
    report = json.loads(run("ingest", str(corpus), "--json", "--no-progress"))
    assert report["counts"]["unchanged"] == 4 and report["counts"]["created"] == 0
    assert report["chunks"] == Chunk.objects.count() and report["seconds"] > 0
    assert set(report["stage_seconds"]) == {"read", "chunk", "embed", "extract", "postgres", "milvus", "neo4j"}
    assert report["stage_seconds"]["embed"] == 0 and sum(report["stage_seconds"].values()) > 0  # nothing to embed


def test_ingest_progress_bar_shows_chunks_rate_and_stage(stores, corpus, monkeypatch):
    from ingestion.management.commands import ingest as command

    shown = []

    class Bar(command.tqdm):
        def set_postfix_str(self, text="", refresh=True):
            shown.append((self.n, text))
            super().set_postfix_str(text, refresh)

    monkeypatch.setattr(command, "tqdm", Bar)
    run("ingest", str(corpus))
    assert shown[-1][0] == 4 and shown[-1][1].endswith(" chunks/s, done")
    assert {text.rsplit(", ", 1)[1] for _, text in shown} >= {"read", "chunk", "embed", "milvus", "neo4j", "done"}
    assert re.match(rf"^{Chunk.objects.count()} chunks, \d+\.\d chunks/s, done$", shown[-1][1])
    assert_stores_agree()


def test_ingest_options(stores, corpus):
    report = json.loads(run("ingest", str(corpus / "guide.md"), "--id-prefix", "kb", "--chunk-size", "80",
                            "--chunk-overlap", "10", "--json", "--no-progress"))
    (document_id,) = report["created"]
    assert document_id.startswith("kb-guide-md-")
    assert Document.objects.get(document_id=document_id).chunks.count() > 4
    assert all(len(text) <= 80 for text in Document.objects.get().chunks.values_list("text", flat=True))


@pytest.mark.parametrize("args, message", [
    (["/no/such/path"], "no such file or directory: /no/such/path"),
    (["{corpus}", "--chunk-size", "100", "--chunk-overlap", "100"], "chunk overlap must be"),
    (["{corpus}", "--id-prefix", "Bad Prefix"], "id prefix 'Bad Prefix'"),
])
def test_ingest_rejects_bad_input(corpus, args, message):
    with pytest.raises(CommandError, match=message):
        run("ingest", *[a.format(corpus=corpus) for a in args])


def test_ingest_with_a_store_down_is_one_line_naming_it(outage_stores, corpus):
    outage_stores.start()
    with pytest.raises(CommandError) as error:
        run("ingest", str(corpus), "--no-progress")
    assert str(error.value).startswith("Neo4j") and "\n" not in str(error.value)
    assert not Document.objects.exists()


def test_ingest_exits_nonzero_when_a_file_failed(stores, corpus, settings):
    with StubServer() as embedder:  # an embedding server that refuses the model: every file fails, batch goes on
        embedder.reply((400, {"error": "unknown model"}))
        settings.EMBEDDER, settings.EMBEDDER_URL, settings.EMBEDDER_API_KEY = "openai", embedder.url, "sk-x"
        out = io.StringIO()
        with pytest.raises(CommandError, match=r"4 file\(s\) failed"):
            call_command("ingest", str(corpus), "--no-progress", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "created 0, updated 0, unchanged 0, skipped 1, failed 4"
    assert sum(line.startswith("failed ") and "Embedder: EmbedderError" in line for line in lines) == 4
    assert "sk-x" not in out.getvalue()
    assert not Document.objects.exists()  # vectors are computed before any store is written


def test_reconcile_command(stores, corpus):
    run("ingest", str(corpus), "--no-progress")
    assert "missing" not in run("reconcile")
    document = Document.objects.get(source_path="corpus/notes.txt")
    vector_services.delete_document_chunks([document.document_id])
    with pytest.raises(CommandError, match="drift found"):
        run("reconcile", "--dry-run")
    output = run("reconcile")
    assert f"missing chunks in Milvus: 1 ({document.document_id})" in output
    assert "repaired 1 document(s)" in output
    assert own_drift(SimpleNamespace(as_dict=lambda: json.loads(run("reconcile", "--json")))) == {}


def test_delete_document_command(stores, corpus):
    run("ingest", str(corpus), "--no-progress")
    document = Document.objects.get(source_path="corpus/notes.txt")
    with pytest.raises(CommandError, match="pass --yes"):
        run("delete_document", document.document_id)
    output = run("delete_document", document.document_id, "--yes")
    assert output.startswith(f"deleted {document.document_id}: ")
    assert len(assert_stores_agree()) == 3
    with pytest.raises(CommandError, match="no document with id 'missing-doc'"):
        run("delete_document", "missing-doc", "--yes")
