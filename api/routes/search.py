"""POST /api/search and POST /api/feedback: thin views over retrieval.pipeline and rag_data.services."""

from __future__ import annotations

from django.http import JsonResponse
from ninja import Router

from api import body
from api.auth import KeyAuth
from api.errors import ApiError, BadRequest
from api.methods import only
from api.schemas import ERRORS, FeedbackIn, FeedbackOut, SearchIn, SearchOut
from rag_data import selectors, services
from retrieval import pipeline

router = Router(tags=["search"])


@router.post("/search", auth=KeyAuth("search"), response={200: SearchOut, **ERRORS},
             openapi_extra=body.documented(SearchIn), summary="Hybrid search (vector, graph, keyword legs fused)")
def search(request):
    """Ranks chunks of complete documents; logs the request as a Query whose id comes back as `query_id`."""
    payload = body.read(request, SearchIn)
    session = None
    if payload.get("session_id") is not None:
        session = services.touch_session(session_id=body.uuid_field(payload, "session_id"))
    result = pipeline.search(
        payload["query"], k=payload.get("k"), filters=payload.get("filters"), hops=payload.get("hops"),
        weights=payload.get("weights"), session=session, api_key=request.auth.key,
    )
    return JsonResponse({
        "query_id": str(result.query_id),
        "results": [dict(hit.as_dict(), rank=rank) for rank, hit in enumerate(result.hits, start=1)],
        "latency_ms": result.latency_ms,
    })


@router.post("/feedback", auth=KeyAuth("feedback"), response={201: FeedbackOut, 404: ERRORS[400], **ERRORS},
             openapi_extra=body.documented(FeedbackIn), summary="A verdict on a search, or on one of its results")
def feedback(request):
    payload = body.read(request, FeedbackIn)
    query_id = body.uuid_field(payload, "query_id")
    if not selectors.query_exists(query_id):
        raise ApiError(404, f"query_id: no query with id {query_id}")
    rating = payload["rating"]
    if isinstance(rating, bool) or not isinstance(rating, int):
        raise BadRequest(f"rating: expected -1, 0 or 1, got {rating!r}")
    created = services.record_feedback(
        query_id=query_id, rating=rating, chunk_id=body.optional_text(payload, "chunk_id"),
        comment=body.optional_text(payload, "comment"), api_key=request.auth.key,
    )
    return JsonResponse({"feedback_id": created.pk}, status=201)


only(router, "/search", "POST")
only(router, "/feedback", "POST")
