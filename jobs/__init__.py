"""Ingest, delete, reconcile and reembed as jobs on a PostgreSQL queue (procrastinate): docs/jobs.md."""
