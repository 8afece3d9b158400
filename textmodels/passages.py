"""The one text a chunk is embedded as: its context line (title and section headings), a blank line, its text.

Ingestion embeds chunks so, and the passage re-ranking (retrieval/rerank.py) embeds windows of them so: the two
must agree, or the re-ranking would compare the question with texts shaped unlike the stored vectors.
"""


def embedding_text(context: str, text: str) -> str:
    return f"{context}\n\n{text}" if context else text
