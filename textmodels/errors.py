"""The one error every embedder raises (in a module of its own so each embedder's module can import it)."""


class EmbedderError(Exception):
    """The embedder is misconfigured or answered something unusable; the message says what to fix."""
