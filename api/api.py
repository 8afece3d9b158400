"""The JSON API: one NinjaAPI, its routers, error handling and docs (served from local files, no CDN).

URLs (config/urls.py mounts them under /api/): POST search, POST feedback, the document and job endpoints,
openapi.json and docs. Any other /api/... path answers a JSON 404 (api.views.not_found).
"""

from __future__ import annotations

from ninja import NinjaAPI, Swagger

from api import errors
from api.routes.documents import router as documents_router
from api.routes.search import router as search_router

api = NinjaAPI(
    title="RAG data layer API",
    version="1",
    description="Hybrid search over Milvus, Neo4j and PostgreSQL, feedback, and documents. Every call sends "
                "`Authorization: Bearer <key>` (a key from `manage.py api_key create`); every error is "
                '`{"error": "..."}`. See docs/api.md.',
    urls_namespace="api",
    # validatorUrl None: Swagger UI would otherwise show a badge fetched from an outside validator service.
    docs=Swagger(settings={"validatorUrl": None}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
errors.install(api)
api.add_router("", search_router)
api.add_router("", documents_router)
