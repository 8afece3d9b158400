"""HTTPS behind a TLS-terminating proxy (docs/production.md) and who may read /metrics."""

import os

from config import env as cfg
from config import env_values as values
from config.settings.base import PRODUCTION
from config.settings.search import SILENCED_SYSTEM_CHECKS

_read = cfg.EnvReader(os.environ)  # the environment, with .env read by config.settings.base

# --- Metrics (docs/operations.md, "Metrics") --------------------------------------------------
# /metrics answers clients in these addresses/networks (direct connections only), or any client sending
# `Authorization: Bearer <METRICS_TOKEN>` when the token is set (METRICS_TOKEN is read with the secrets, in base.py).
METRICS_ALLOWED_IPS = values.ip_networks(_read, "METRICS_ALLOWED_IPS", ["127.0.0.1/32", "::1/128"])

# --- HTTPS behind a TLS-terminating proxy (docs/production.md) ------------------------------------
# The proxy terminates TLS and sets X-Forwarded-Proto (overwriting what the client sent); the app's port
# must be reachable only by it. Then request.is_secure() is true for HTTPS clients, the admin's CSRF origin
# check passes, and the SSL redirect does not loop.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _read.bool("DJANGO_BEHIND_TLS_PROXY", PRODUCTION) else None
CSRF_TRUSTED_ORIGINS = values.origins(_read, "DJANGO_CSRF_TRUSTED_ORIGINS")  # e.g. https://rag.example.com
SECURE_SSL_REDIRECT = _read.bool("DJANGO_SSL_REDIRECT", PRODUCTION)
# Container/Kubernetes probes, load balancer health checks and a metrics scraper call the app directly over
# plain HTTP (no proxy, no X-Forwarded-Proto): redirecting them to https:// would fail every probe.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics/?$"]
SECURE_HSTS_SECONDS = _read.int("DJANGO_HSTS_SECONDS", 31536000, minimum=0) if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _read.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _read.bool("DJANGO_HSTS_PRELOAD", False)
if SECURE_HSTS_SECONDS and not SECURE_HSTS_PRELOAD:
    # Preload-list submission binds the whole domain for months: the domain owner's decision, opt-in only.
    SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W021"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _read.bool("DJANGO_SECURE_COOKIES", True) if PRODUCTION else False
