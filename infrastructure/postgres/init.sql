-- Run once by the postgres image's entrypoint, as the superuser POSTGRES_USER in database
-- POSTGRES_DB, when the data volume is first initialised (docker-compose.yml mounts it into
-- /docker-entrypoint-initdb.d/). Only the extensions live here: they need a superuser, which the
-- app's migrations do not have. Tables, indexes and everything else belong to Django migrations.
-- Idempotent, so it is also safe to run again by hand: psql -f init.sql.

-- pgvector: vector column type and distance operators.
CREATE EXTENSION IF NOT EXISTS vector;

-- Trigram similarity for fuzzy matching of names and keywords.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
