"""`manage.py search` on the real engines: ranked output, JSON, filters, clean one-line errors."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command

from rag_data.models import Query
from retrieval.tests.corpus import MAIN_RELATIONS, QUERY, SeedDoc, main_corpus, seed
from retrieval.tests.corpus import corpus  # noqa: F401 (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def run(*args) -> str:
    out = io.StringIO()
    call_command("search", *args, stdout=out)
    return out.getvalue()



def test_prints_ranked_hits_with_sources_and_logs_the_query(corpus, settings):
    settings.SEARCH_RRF_K = 60
    output = run(QUERY, "--k", "5", "--hops", "1", "--weight", "graph=1", "--weight", "keyword=1")
    lines = output.splitlines()
    assert lines[0].startswith("  1. 0.03279  ann-seed  ")
    assert "[keyword #1, vector #1]" in lines[0]
    assert any("graph-only" in line and "[graph #1]" in line for line in lines)
    assert any("kw-only" in line and "[keyword #2]" in line for line in lines)
    query = Query.objects.get()
    assert lines[-1].startswith(f"query {query.id} (")
    assert "vector" in lines[-1] and "keyword" in lines[-1] and "graph" in lines[-1]
    assert query.parameters["weights"] == {"vector": 1.0, "graph": 1.0, "keyword": 1.0}


def test_json_output_and_filters(milvus_backend, neo4j_store):
    docs = main_corpus() + [SeedDoc("quoted", ["Approximate nearest neighbour search, quoted."],
                                    metadata={"title": 'say "hi" || x)'})]
    seed(docs, MAIN_RELATIONS)
    body = json.loads(run(QUERY, "--json", "--filter", 'metadata.title=say "hi" || x)'))
    assert [row["document_id"] for row in body["results"]] == ["quoted"]
    assert body["results"][0]["rank"] == 1 and body["query_id"] == str(Query.objects.get().id)
    body = json.loads(run(QUERY, "--json", "--filter", "metadata.ordinal:=0", "--filter", "document_id=kw-only"))
    assert [row["document_id"] for row in body["results"]] == ["kw-only"]
    assert "no results" in run(QUERY, "--filter", "document_id=no-such-document")


@pytest.mark.parametrize("args, message", [
    (["--k", "0"], "k: must be a whole number from 1 to 100, got 0"),
    (["--hops", "5"], "hops: must be a whole number from 0 to 3"),
    (["--filter", "content=x"], "filters: cannot filter on 'content'"),
    (["--filter", "novalue"], "use key=value"),
    (["--filter", "metadata.n:=not json"], "is not JSON"),
    (["--weight", "bm25=1"], "weights: unknown source(s) bm25"),
    (["--weight", "vector"], "use source=number"),
])
def test_bad_input_is_a_one_line_command_error(args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        run(QUERY, *args)
    with pytest.raises(CommandError, match="query: must not be empty"):
        run("   ")


def test_store_down_is_a_one_line_error_naming_it(settings, milvus_backend, neo4j_down):
    seed(main_corpus(), neo4j=False)
    with pytest.raises(CommandError, match="^Neo4j is unreachable") as raised:
        run(QUERY, "--hops", "1", "--weight", "graph=1")
    assert "\n" not in str(raised.value) and settings.NEO4J_PASSWORD not in str(raised.value)
