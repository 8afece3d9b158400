"""Vector store fixtures: the shared real-engine fixtures, plus a small embedding size to keep tests fast."""

import pytest

TEST_DIM = 16


@pytest.fixture
def small_dim(settings):
    settings.EMBEDDING_DIM = TEST_DIM
    return TEST_DIM


@pytest.fixture
def collection(milvus_backend, small_dim):
    """A freshly created, loaded collection on the engine under test (dropped by milvus_backend)."""
    from vectorstore.services import ensure_collection

    assert ensure_collection() == "created"
    return milvus_backend


def unit_vector(dim: int, hot: int, tail: float = 0.0) -> list[float]:
    """A vector pointing mostly along axis `hot`, so nearest-neighbour order is predictable."""
    vector = [tail] * dim
    vector[hot % dim] = 1.0
    return vector
