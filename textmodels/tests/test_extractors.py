"""Concept extraction: the offline keyphrase extractor, co-occurrence, and the LLM client against a local stub."""

import pytest

from core.retry import StoreUnavailable
from textmodels.extractors import (
    ExtractorError,
    KeyphraseExtractor,
    LLMExtractor,
    co_occurrence,
    count_mentions,
    get_extractor,
    normalise,
    parse_concept_list,
)
from tests.httpstub import chat_reply

TEXT = """# Hybrid retrieval
Hybrid retrieval combines a vector database with a knowledge graph. The vector database stores
embeddings; the knowledge graph stores concepts. Reciprocal rank fusion merges the results of hybrid
retrieval. Milvus is a vector database and Neo4j is a graph database. Neo4j stores the knowledge graph.
"""


def test_keyphrases_rank_repeated_terms_first_and_are_capped():
    concepts = KeyphraseExtractor(max_concepts=5).extract(TEXT)
    assert set(list(concepts)[:3]) == {"hybrid retrieval", "vector database", "knowledge graph"}
    assert "hybrid" not in concepts  # never occurs outside "hybrid retrieval"
    assert concepts["vector database"] == 3
    assert len(concepts) == 5
    assert all(name == normalise(name) for name in concepts)
    assert KeyphraseExtractor(max_concepts=5).extract(TEXT) == concepts  # deterministic


def test_keyphrases_skip_stopwords_numbers_and_empty_text():
    assert KeyphraseExtractor(10).extract("") == {}
    assert KeyphraseExtractor(10).extract("the and of 2024 12.5 a an") == {}
    concepts = KeyphraseExtractor(10).extract("Graphs, graphs and more GRAPHS in 2024.")
    assert concepts == {"graphs": 3}


def test_count_mentions_is_whole_word_and_case_insensitive():
    assert count_mentions("vector database", TEXT) == 3
    assert count_mentions("graph", "Graph graphs subgraph graph.") == 2


def test_co_occurrence_counts_chunks_sharing_concepts():
    chunks = ["Milvus is a vector database.", "Neo4j and Milvus, vector database again.", "Neo4j alone."]
    pairs = co_occurrence(["vector database", "milvus", "neo4j"], chunks)
    assert pairs == [("milvus", "neo4j", 1), ("milvus", "vector database", 2), ("neo4j", "vector database", 1)]
    assert co_occurrence(["a"], chunks) == []


@pytest.mark.parametrize("answer, expected", [
    ('["Vector DB", "Graph"]', ["vector db", "graph"]),
    ('```json\n["Vector DB", {"name": "Graph"}, "vector db"]\n```', ["vector db", "graph"]),
    ('Here you go: ["A thing", "Other."] hope it helps', ["a thing", "other"]),
    ('{"concepts": ["Knowledge Graph", "", 3]}', ["knowledge graph"]),
])
def test_parse_concept_list_is_forgiving(answer, expected):
    assert parse_concept_list(answer) == expected


@pytest.mark.parametrize("answer", ["no list here", '{"other": 1}', "[broken"])
def test_parse_concept_list_rejects_non_lists(answer):
    with pytest.raises(ExtractorError, match="JSON list"):
        parse_concept_list(answer)




def test_llm_extractor_posts_a_chat_completion_and_counts_mentions(stub, settings):
    settings.EXTRACTOR, settings.EXTRACTOR_URL = "llm", stub.url
    settings.EXTRACTOR_API_KEY, settings.EXTRACTOR_MODEL, settings.EXTRACTOR_MAX_CONCEPTS = "sk-secret", "m1", 2
    stub.reply((200, chat_reply('["Vector Database", "Knowledge graph", "Extra"]')))
    extractor = get_extractor()
    assert isinstance(extractor, LLMExtractor) and "sk-secret" not in repr(extractor)
    assert extractor.extract(TEXT) == {"vector database": 3, "knowledge graph": 3}
    request = stub.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-secret"
    assert request["json"]["model"] == "m1" and request["json"]["messages"][1]["content"] == TEXT
    assert "at most 2" in request["json"]["messages"][0]["content"]


def test_llm_extractor_retries_transient_http_errors(stub, fast_retries):
    stub.reply((503, {"error": "busy"}), (200, chat_reply('["graph"]')))
    assert LLMExtractor(stub.url, "m", 5, 5).extract("a graph") == {"graph": 1}
    assert len(stub.requests) == 2


def test_llm_extractor_gives_up_with_store_unavailable(stub, fast_retries):
    stub.reply((503, {"error": "busy"}))
    with pytest.raises(StoreUnavailable, match="Extractor"):
        LLMExtractor(stub.url, "m", 5, 5).extract("text")
    assert len(stub.requests) == 3


@pytest.mark.parametrize("status, reply, message", [
    (401, {"error": "no"}, "rejected the credentials"),
    (404, {"error": "no model"}, "HTTP 404"),
    (200, b"not json", "did not answer JSON"),
    (200, {"unexpected": True}, "choices"),
    (200, chat_reply("I cannot do that"), "JSON list"),
])
def test_llm_extractor_clear_errors(stub, fast_retries, status, reply, message):
    stub.reply((status, reply))
    extractor = LLMExtractor(stub.url, "m", 5, 5, api_key="sk-secret")
    with pytest.raises(ExtractorError, match=message) as error:
        extractor.extract("text")
    assert "sk-secret" not in str(error.value)
    assert len(stub.requests) == 1  # permanent errors are not retried


def test_unreachable_llm_is_store_unavailable(fast_retries):
    with pytest.raises(StoreUnavailable, match="Extractor"):
        LLMExtractor("http://127.0.0.1:9/v1", "m", 5, 1).extract("text")
