# The Django app of the RAG data layer (infrastructure/docker-compose.yml builds it).
# Production start: `init_stores` (idempotent: migrations, the Milvus collection and index, the Neo4j
# constraints), then gunicorn. docker-compose.dev.yml replaces the command with runserver.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    GUNICORN_CMD_ARGS="--bind 0.0.0.0:8000 --workers 3 --timeout 60"

WORKDIR /app

# Dependencies first, so a source change does not reinstall them. gunicorn is the production
# server only, hence not in requirements.txt.
COPY requirements.txt .
RUN pip install -r requirements.txt "gunicorn>=23,<24"

COPY . .

# The admin's CSS/JS with hashed, compressed names into /app/staticfiles, served by WhiteNoise. Collected
# with the local settings (no secret exists at build time) and DEBUG off, which selects that storage.
RUN DJANGO_ENV=local DJANGO_DEBUG=false DJANGO_STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput

# Run outside compose, the image is production (DEBUG off, secrets and API auth required).
ENV DJANGO_ENV=production DJANGO_STATIC_ROOT=/app/staticfiles

# The source stays root-owned and read-only for the unprivileged user that runs the app.
RUN useradd --system --uid 10001 --home-dir /app --no-create-home app
USER app

EXPOSE 8000

CMD ["sh", "-c", "python manage.py init_stores && exec gunicorn -c infrastructure/gunicorn.conf.py config.wsgi:application"]
