"""The three stores: PostgreSQL connection options, Milvus, Neo4j, the namespace, the retry policy, health checks."""

import os

from config import env as cfg
from config import env_values as values
from config.settings.base import BASE_DIR, DATABASES

_read = cfg.EnvReader(os.environ)  # the environment, with .env read by config.settings.base

# --- PostgreSQL (relational app data) -------------------------------------------------------
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault(
    "connect_timeout", _read.int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1, maximum=300)
)
DATABASES["default"]["CONN_MAX_AGE"] = _read.int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Milvus (vectors) ------------------------------------------------------------------------
MILVUS_URI = values.milvus_uri(_read, "MILVUS_URI", cfg.LOCAL_DEFAULTS["MILVUS_URI"], BASE_DIR)
MILVUS_COLLECTION = values.collection_name(_read, "MILVUS_COLLECTION", "knowledge_chunks")
MILVUS_INDEX_TYPE = _read.choice("MILVUS_INDEX_TYPE", "HNSW", values.MILVUS_INDEX_TYPES)
MILVUS_METRIC_TYPE = _read.choice("MILVUS_METRIC_TYPE", "COSINE", values.MILVUS_METRIC_TYPES)
# HNSW search breadth (at least the number of candidates asked for). 256, not 64: on the evaluation corpora ef 64
# found 91-93% of the exact top 20 and its answers changed between runs on the same data; 256 found 99.3%, the
# same answers every run (docs/evaluation.md, "Reproducible runs").
MILVUS_SEARCH_EF = _read.int("MILVUS_SEARCH_EF", 256, minimum=1, maximum=32768)
MILVUS_TIMEOUT = _read.float("MILVUS_TIMEOUT", 10.0, minimum=0.1, maximum=600)

# --- Neo4j (knowledge graph) -----------------------------------------------------------------
NEO4J_URI = values.neo4j_uri(_read, "NEO4J_URI", cfg.LOCAL_DEFAULTS["NEO4J_URI"])
NEO4J_USER = _read.str("NEO4J_USER", cfg.LOCAL_DEFAULTS["NEO4J_USER"])
NEO4J_DATABASE = _read.str("NEO4J_DATABASE", "neo4j")
NEO4J_TIMEOUT = _read.float("NEO4J_TIMEOUT", 10.0, minimum=0.1, maximum=600)

# --- Namespace: what this deployment owns on shared servers (docs/graph.md) -----------------
# Scopes every node and relationship this deployment writes in Neo4j (community edition has one database),
# and so every graph read, reconcile, delete and test clean-up. Milvus is scoped by MILVUS_COLLECTION and
# PostgreSQL by DATABASE_URL; the namespace defaults to the collection name, so one setting separates two
# deployments. Two deployments sharing a Neo4j server must have different namespaces.
RAG_NAMESPACE = values.namespace(_read, "RAG_NAMESPACE", MILVUS_COLLECTION)

# --- Retry policy shared by every store client (core/retry.py) -----------------------------
STORE_RETRY_ATTEMPTS = _read.int("STORE_RETRY_ATTEMPTS", 5, minimum=1, maximum=100)
STORE_RETRY_MAX_SECONDS = _read.float("STORE_RETRY_MAX_SECONDS", 30.0, minimum=0.0, maximum=3600)
STORE_RETRY_INITIAL_WAIT = _read.float("STORE_RETRY_INITIAL_WAIT", 0.2, minimum=0.0, maximum=60)
STORE_RETRY_MAX_WAIT = _read.float("STORE_RETRY_MAX_WAIT", 5.0, minimum=0.0, maximum=600)

# --- Health checks ---------------------------------------------------------------------------
HEALTH_CHECK_TIMEOUT = _read.float("HEALTH_CHECK_TIMEOUT", 3.0, minimum=0.1, maximum=120)
# Checks that can only warn (status "warn", HTTP 200), listed after the three stores' (stores.health).
HEALTH_WARNING_CHECKS = ("drift.health.DriftCheck",)
