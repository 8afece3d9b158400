# The Django app of the RAG data layer (infrastructure/docker-compose.yml builds it; docs/production.md).
# Production start: `init_stores` (idempotent: migrations, the Milvus collection and index, the Neo4j
# constraints), then gunicorn with infrastructure/gunicorn.conf.py. docker-compose.dev.yml replaces the
# command with runserver. The base image is an exact version; pin its digest too when you build for
# production (docs/production.md, "Pinned versions").
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings

WORKDIR /app

# Dependencies first, so that a source change does not reinstall them: exactly the versions and files of
# requirements.lock (pip-compile --generate-hashes; `make lock` rewrites it), each checked against its hash.
COPY requirements.lock .
RUN pip install --no-deps --require-hashes -r requirements.lock

COPY . .

# The admin's CSS/JS with hashed, compressed names into /app/staticfiles, served by WhiteNoise. Collected
# with the local settings (no secret exists at build time) and DEBUG off, which selects that storage.
RUN DJANGO_ENV=local DJANGO_DEBUG=false DJANGO_STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput

# The source and static files stay root-owned and read-only for the unprivileged user that runs the app;
# it has a writable home for the caches libraries keep (HOME).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/app --create-home --shell /usr/sbin/nologin app

# Run outside compose, the image is production (DEBUG off, secrets and API auth required).
ENV DJANGO_ENV=production \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    HOME=/home/app

# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

EXPOSE 8000

CMD ["sh", "-c", "python manage.py init_stores && exec gunicorn -c infrastructure/gunicorn.conf.py config.wsgi:application"]
