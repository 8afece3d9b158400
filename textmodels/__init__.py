"""Text models shared by ingestion and retrieval: embedders, concept extractors, the OpenAI-compatible client."""
