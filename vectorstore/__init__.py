"""Milvus vector store: the `knowledge_chunks` collection, its schema, writes, reads and commands."""
