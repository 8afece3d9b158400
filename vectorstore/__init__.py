"""Milvus vector store: the `knowledge_chunks` collection, its schema, writes, reads and commands."""

from vectorstore._pymilvus import import_pymilvus

import_pymilvus()  # before any submodule imports pymilvus: see _pymilvus.py
