"""Relational side of the RAG data layer: sessions, queries, feedback review, and the ingestion ledger."""
