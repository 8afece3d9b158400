"""Hybrid retrieval on the real engines: PostgreSQL, Milvus (standalone and Lite), Neo4j."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from core.retry import StoreNotUsable, StoreUnavailable
from retrieval import pipeline
from rag_data.models import Chunk, Query
from retrieval.tests.corpus import MAIN_RELATIONS, QUERY, SeedDoc, main_corpus, seed
from retrieval.tests.corpus import corpus  # noqa: F401 (fixture)
from vectorstore import lite

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

EQUAL = {"vector": 1.0, "graph": 1.0, "keyword": 1.0}
VECTOR_ONLY = {"vector": 1.0, "graph": 0.0, "keyword": 0.0}



def by_document(result):
    return {hit.document_id: hit for hit in result.hits}


def test_each_source_finds_what_only_it_can_and_scores_are_fused(corpus, settings):
    settings.SEARCH_RRF_K = 60
    result = pipeline.search(QUERY, k=5, hops=1, weights=EQUAL)
    hits = by_document(result)

    assert hits["ann-seed"].sources == {"vector": 1, "keyword": 1}
    assert hits["kw-only"].sources == {"keyword": 2}
    assert hits["graph-only"].sources == {"graph": 1}
    assert hits["ann-seed"].score == pytest.approx(1 / 61 + 1 / 61)
    assert hits["graph-only"].score == pytest.approx(1 / 61)
    assert hits["kw-only"].score == pytest.approx(1 / 62)
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)
    assert len(result.hits) == 5
    settings.SEARCH_RRF_K = 5  # a small constant: weight / (5 + rank)
    hits = by_document(pipeline.search(QUERY, k=5, hops=1, weights=EQUAL))
    assert hits["ann-seed"].score == pytest.approx(2 / 6) and hits["kw-only"].score == pytest.approx(1 / 7)
    # Content comes from PostgreSQL; metadata from Milvus, also for the keyword-only hit.
    assert hits["kw-only"].content.startswith("Appendix: the zyxquorum constant")
    assert hits["kw-only"].metadata["source"] == "kw-only.md"
    assert hits["graph-only"].chunk_id == corpus["graph-only"][0]


def test_graph_expansion_surfaces_a_document_vector_search_misses(corpus):
    vector_only = pipeline.search(QUERY, k=5, weights=VECTOR_ONLY)
    assert all(set(hit.sources) == {"vector"} for hit in vector_only.hits)
    assert "graph-only" not in by_document(vector_only)
    assert vector_only.hits[0].document_id == "ann-seed"
    # Not even among the whole candidate pool (max(2k, 20) = 20) the vector stage looked at:
    assert "graph-only" not in by_document(pipeline.search(QUERY, k=20, weights=VECTOR_ONLY))

    fused = pipeline.search(QUERY, k=5, hops=1, weights=EQUAL)
    assert set(by_document(fused)["graph-only"].sources) == {"graph"}

    without_graph = pipeline.search(QUERY, k=5, hops=0, weights=EQUAL)
    assert "graph-only" not in by_document(without_graph)
    assert "graph" not in without_graph.latency_ms


def test_related_to_needs_a_hop_a_shared_concept_does_not(milvus_backend, neo4j_store):
    docs = main_corpus()
    docs[-1].concepts = {"hnsw": 1}  # graph-only now mentions the seed's own concept: distance 0
    seed(docs, [])
    assert set(by_document(pipeline.search(QUERY, k=5, hops=1, weights=EQUAL))["graph-only"].sources) == {"graph"}


def test_every_query_is_logged_with_stage_latencies_and_results(corpus):
    result = pipeline.search(QUERY, k=5, hops=1, weights=EQUAL, filters={"metadata.ext": "md"})
    query = Query.objects.get(pk=result.query_id)
    assert query.text == QUERY
    assert set(query.stage_latency_ms) == {"embed", "vector", "graph", "keyword", "hydrate", "fusion"}
    assert all(value >= 0 for value in query.stage_latency_ms.values())
    assert query.latency_ms == result.latency_ms["total"] > 0
    assert [row["chunk_id"] for row in query.results] == [hit.chunk_id for hit in result.hits]
    assert query.results[0]["sources"] == sorted(result.hits[0].sources)  # the log keeps source names
    assert query.parameters["k"] == 5 and query.parameters["hops"] == 1
    assert query.parameters["weights"] == EQUAL and query.parameters["filters"] == {"metadata.ext": "md"}
    assert query.parameters["embedder"] == "offline-hashing-v1"


def test_default_settings_run_every_stage(corpus, settings):
    settings.SEARCH_WEIGHTS = {"vector": 1.0, "graph": 0.5, "keyword": 0.8}
    result = pipeline.search(QUERY)
    assert len(result.hits) == settings.SEARCH_DEFAULT_K
    assert {"vector", "keyword", "graph"} <= set(result.latency_ms)
    assert result.hits[0].document_id == "ann-seed"


def test_only_complete_documents_are_returned(milvus_backend, neo4j_store):
    docs = main_corpus()
    seed(docs, MAIN_RELATIONS)
    seed([SeedDoc("half-written", ["Approximate nearest neighbour search, written to PostgreSQL and Milvus "
                                   "only: zyxquorum."], status="pending")], neo4j=False)
    result = pipeline.search(QUERY, k=20, hops=1, weights=EQUAL)
    assert "half-written" not in by_document(result)
    assert "ann-seed" in by_document(result)


def test_document_filter_limits_every_source_and_unknown_ids_match_nothing(corpus):
    result = pipeline.search(QUERY, k=5, hops=1, weights=EQUAL, filters={"document_id": "kw-only"})
    assert [hit.document_id for hit in result.hits] == ["kw-only"]
    assert result.hits[0].sources == {"vector": 1, "keyword": 1}

    nothing = pipeline.search(QUERY, filters={"document_id": "no-such-document"})
    assert nothing.hits == []
    assert Query.objects.get(pk=nothing.query_id).results == []


TRICKY = ['say "hi"', "back\\slash", 'both\\"', "a || b", "close) paren", "line\nbreak", "tab\tand\rreturn"]


def test_filters_with_hostile_values_match_exactly_and_execute_nothing(milvus_backend, neo4j_store):
    docs = main_corpus()
    docs += [SeedDoc(f"tricky-{i}", [f"Approximate nearest neighbour search note {i} zyxquorum."],
                     metadata={"title": value}) for i, value in enumerate(TRICKY)]
    seed(docs, MAIN_RELATIONS)
    lite25 = lite.lacks_aliases_and_properties(settings.MILVUS_URI)
    for i, value in enumerate(TRICKY):
        if lite25 and ("\n" in value or "\r" in value):  # its lexer cannot match a line break: said so, a 400
            with pytest.raises(ValueError, match="^filters: metadata.title holds a line break, which Milvus Lite"):
                pipeline.search(QUERY, k=10, hops=1, weights=EQUAL, filters={"metadata.title": value})
            continue
        result = pipeline.search(QUERY, k=10, hops=1, weights=EQUAL, filters={"metadata.title": value})
        assert [hit.document_id for hit in result.hits] == [f"tricky-{i}"], value
        assert set(result.hits[0].sources) == {"vector", "keyword"}
    for hostile in ['" or document_id != "', '") or (1 == 1', "x\" || chunk_id != \"", "\\", '"']:
        result = pipeline.search(QUERY, k=10, weights=EQUAL, filters={"metadata.title": hostile})
        assert result.hits == [], hostile
        result = pipeline.search(QUERY, k=10, weights=EQUAL, filters={"document_id": hostile})
        assert result.hits == [], hostile


@pytest.mark.parametrize("kwargs, field", [
    ({"k": 0}, "k"), ({"k": 101}, "k"), ({"k": "5"}, "k"), ({"k": True}, "k"),
    ({"hops": -1}, "hops"), ({"hops": 4}, "hops"),
    ({"filters": {"content": "x"}}, "filters"), ({"filters": {"metadata.tag": None}}, "filters"),
    ({"filters": ["document_id"]}, "filters"), ({"filters": {"metadata.a b": 1}}, "filters"),
    ({"weights": {"bm25": 1}}, "weights"), ({"weights": {"vector": -0.1}}, "weights"),
    ({"weights": {"vector": 0, "graph": 0, "keyword": 0}}, "weights"),
])
def test_bad_parameters_are_value_errors_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"^{field}: "):
        pipeline.search(QUERY, **kwargs)
    assert not Query.objects.exists()


@pytest.mark.parametrize("text", ["", "   ", "x" * 2001, None, "nul\x00byte", "lone \ud800 surrogate"])
def test_bad_text_is_a_value_error_naming_the_field(text):
    with pytest.raises(ValueError, match="^query: "):
        pipeline.search(text)


def test_keyword_stage_can_use_the_gin_index(corpus):
    """The WHERE clause matches the stored, indexed column: with plain scans priced out, the planner picks the GIN
    index. (On this tiny table it would rightly scan; the point is that the index applies.)"""
    from django.test.utils import CaptureQueriesContext

    from retrieval.selectors import keyword_ranking

    with CaptureQueriesContext(connection) as captured:
        keyword_ranking(QUERY, 20)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE rag_data_chunk")
        cursor.execute("ANALYZE rag_data_document")
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_indexscan = off")
        try:
            cursor.execute("EXPLAIN " + captured.captured_queries[-1]["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("RESET enable_indexscan")
    assert "Bitmap Index Scan on rag_chunk_search_vector" in plan, plan
    assert "to_tsvector" not in plan, plan  # ranks the stored vectors, parses no text at query time


def test_unreachable_graph_fails_the_search_naming_neo4j(milvus_backend, settings):
    from graphstore import client

    seed(main_corpus(), neo4j=False)

    settings.NEO4J_URI = "bolt://127.0.0.1:1"
    settings.STORE_RETRY_ATTEMPTS, settings.STORE_RETRY_MAX_SECONDS = 1, 0.5
    client.connection().close()
    with pytest.raises(StoreUnavailable, match="^Neo4j is unreachable") as raised:
        pipeline.search(QUERY, hops=1, weights=EQUAL)
    assert raised.value.store == "Neo4j"
    assert settings.NEO4J_PASSWORD not in str(raised.value)
    assert not Query.objects.exists()
    client.connection().close()


def test_missing_collection_is_reported_as_milvus_unavailable(milvus_backend, neo4j_store):
    with pytest.raises(StoreNotUsable, match="^Milvus: .*does not exist") as raised:
        pipeline.search(QUERY)
    assert isinstance(raised.value, StoreUnavailable) and "unreachable" not in str(raised.value)


def test_a_collection_milvus_has_not_loaded_is_one_line_that_claims_no_outage(corpus, milvus_backend):
    """After a restart Milvus loads collections again; a search in that window says so (503), no traceback."""
    from vectorstore import client, services

    client.call("release_collection", settings.MILVUS_COLLECTION)
    if milvus_backend == "lite":  # Milvus Lite serves a released collection: there is no such window
        assert pipeline.search(QUERY, weights=VECTOR_ONLY)
        return
    try:
        with pytest.raises(StoreNotUsable) as raised:
            pipeline.search(QUERY, weights=VECTOR_ONLY)
    finally:
        services.load_collection()
    message = str(raised.value)
    assert message.startswith("Milvus: collection ") and "is not loaded" in message and "\n" not in message


def test_another_embedder_than_the_collections_is_one_line_that_claims_no_outage(corpus, settings):
    """Milvus answers; the collection was built by another embedder: the search (a 503 in the API, a failed command)
    says that and what to run, not that Milvus is unreachable."""
    from vectorstore import selectors

    settings.EMBEDDER, settings.EMBEDDING_DIM, settings.EMBEDDER_MODEL = "minilm", 384, "all-MiniLM-L6-v2-int8-dynamic"
    selectors.forget_verified_embedders()
    try:
        with pytest.raises(StoreNotUsable) as raised:
            pipeline.search(QUERY, weights=VECTOR_ONLY)
    finally:
        selectors.forget_verified_embedders()
    message = str(raised.value)
    assert message.startswith("Milvus: collection ") and "\n" not in message and "unreachable" not in message
    assert "was built by EMBEDDER=hashing" in message and "uses EMBEDDER=minilm" in message
    assert "run `manage.py reembed`" in message


def test_end_to_end_over_the_ingestion_pipeline(milvus_backend, neo4j_store, tmp_path):
    """Files in, search out: hits carry the ingested text, re-ingesting changes nothing, deletion removes them."""
    from ingestion.deletion import delete_document
    from ingestion.services import ingest_paths

    (tmp_path / "hnsw.md").write_text("# HNSW\n\nApproximate nearest neighbour search with HNSW graphs: a "
                                      "layered proximity graph over the vectors answers queries fast.\n")
    (tmp_path / "pottery.md").write_text("# Pottery\n\nThe zyxquorum constant appears in glaze recipe tables "
                                         "and kiln firing schedules.\n")
    (tmp_path / "castles.txt").write_text("Medieval castles had moats, keeps and curtain walls.\n")
    assert ingest_paths([tmp_path]).counts()["created"] == 3

    first = pipeline.search(QUERY, k=3, hops=1, weights=EQUAL)
    hits = {hit.metadata["source"].rsplit("/", 1)[-1]: hit for hit in first.hits}  # "<directory>/hnsw.md"
    assert set(hits["hnsw.md"].sources) >= {"vector", "keyword"}
    assert "keyword" in hits["pottery.md"].sources
    assert hits["pottery.md"].content == Chunk.objects.get(chunk_id=hits["pottery.md"].chunk_id).text

    assert ingest_paths([tmp_path]).counts()["unchanged"] == 3
    again = pipeline.search(QUERY, k=3, hops=1, weights=EQUAL)
    assert [hit.chunk_id for hit in again.hits] == [hit.chunk_id for hit in first.hits]

    delete_document(hits["pottery.md"].document_id)
    after = pipeline.search(QUERY, k=3, hops=1, weights=EQUAL)
    assert hits["pottery.md"].document_id not in {hit.document_id for hit in after.hits}


def test_record_false_returns_hits_without_logging_a_query(corpus):
    result = pipeline.search(QUERY, k=5, hops=1, weights=EQUAL, record=False)
    assert result.query_id is None
    assert len(result.hits) == 5
    assert not Query.objects.exists()


def test_max_chunks_per_document_caps_one_document_in_the_fused_list(milvus_backend, neo4j_store, settings):
    docs = main_corpus()
    docs[0].texts += [f"Approximate nearest neighbour search, part {i}: zyxquorum layers." for i in range(4)]
    seed(docs, MAIN_RELATIONS)
    settings.SEARCH_MAX_CHUNKS_PER_DOCUMENT = 0
    uncapped = [hit.document_id for hit in pipeline.search(QUERY, k=5, weights=EQUAL, record=False).hits]
    assert uncapped.count("ann-seed") >= 3
    settings.SEARCH_MAX_CHUNKS_PER_DOCUMENT = 2
    capped = [hit.document_id for hit in pipeline.search(QUERY, k=5, weights=EQUAL, record=False).hits]
    assert capped.count("ann-seed") == 2 and len(capped) == 5
    assert capped[0] == "ann-seed"


def test_graph_leg_starts_from_the_concepts_the_query_names(corpus):
    # "small world" is a concept only graph-only mentions; no vector or keyword match would find that chunk.
    result = pipeline.search("a small world of acquaintances", k=3, hops=1,
                             weights={"vector": 0.0, "graph": 1.0, "keyword": 0.0}, record=False)
    assert result.hits[0].document_id == "graph-only" and result.hits[0].sources == {"graph": 1}


def test_related_documents_only_when_the_query_names_no_concept_of_the_graph(corpus):
    """"hnsw" (ann-seed's concept) is named: the graph leg gives ann-seed's documents, not those RELATED_TO it; the
    same question without a concept name reaches graph-only through the related documents."""
    graph_only = {"vector": 0.0, "graph": 1.0, "keyword": 0.0}
    named = pipeline.search("hnsw approximate nearest neighbour search", k=5, hops=1, weights=graph_only, record=False)
    assert [hit.document_id for hit in named.hits] == ["ann-seed"]
    unnamed = pipeline.search(QUERY, k=5, hops=1, weights=graph_only, record=False)
    assert "graph-only" in by_document(unnamed) and "ann-seed" not in by_document(unnamed)


def test_document_fusion_ranks_documents_not_chunks(milvus_backend, neo4j_store, settings):
    """One document whose five chunks fill the keyword leg's top five: at document level the next document is the
    leg's second (its `sources` rank); at chunk level it comes after all five chunks of the first."""
    docs = main_corpus()
    docs[0].texts += [f"Approximate nearest neighbour search, part {i}: zyxquorum layers." for i in range(4)]
    seed(docs, MAIN_RELATIONS)
    keyword_only = {"vector": 0.0, "graph": 0.0, "keyword": 1.0}
    settings.SEARCH_RRF_K, settings.SEARCH_FUSION = 0, "document"
    hits = pipeline.search(QUERY, k=3, weights=keyword_only, record=False).hits
    assert [h.document_id for h in hits][:2] == ["ann-seed", "kw-only"]
    assert [h.sources for h in hits[:2]] == [{"keyword": 1}, {"keyword": 2}]
    assert hits[0].score == 1.0 and hits[1].score == 0.5  # 1 / (SEARCH_RRF_K + rank)
    settings.SEARCH_FUSION = "chunk"
    hits = pipeline.search(QUERY, k=3, weights=keyword_only, record=False).hits
    assert [h.document_id for h in hits][:2] == ["ann-seed", "kw-only"]
    assert hits[1].sources == {"keyword": 6}


def test_a_keyword_only_hit_has_the_metadata_milvus_holds_without_asking_milvus(corpus):
    """Built from the ledger rows the hydration reads (rag_data.chunk_metadata), the same as the Milvus row's."""
    from vectorstore import selectors as vectors

    result = pipeline.search(QUERY, k=5, weights={"vector": 0.0, "graph": 0.0, "keyword": 1.0}, record=False)
    assert result.hits and all(set(hit.sources) == {"keyword"} for hit in result.hits)
    stored = vectors.matching_chunks([hit.chunk_id for hit in result.hits], None, pipeline.CONSISTENCY)
    assert {hit.chunk_id: hit.metadata for hit in result.hits} == {c: row["metadata"] for c, row in stored.items()}
    assert "metadata" not in result.latency_ms  # no Milvus round trip for it
