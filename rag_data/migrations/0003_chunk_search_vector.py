"""Chunk.search_vector: a stored 'english' tsvector of the chunk text, with a GIN index, for the keyword leg.

PostgreSQL computes the generated column for every existing row while it rewrites the table (ADD COLUMN ...
GENERATED ALWAYS AS (to_tsvector('english'::regconfig, COALESCE(text, ''))) STORED), so no data is lost and no
backfill is needed; the table is locked for the rewrite (about a second per 10k chunks). The expression index
rag_chunk_text_fts served the old per-row to_tsvector() query only; it is dropped once the new index exists.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("rag_data", "0002_document_status_deleting"),
    ]

    operations = [
        migrations.AddField(
            model_name="chunk",
            name="search_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.contrib.postgres.search.SearchVector("text", config="english"),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="chunk",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_vector"], name="rag_chunk_search_vector"),
        ),
        migrations.RemoveIndex(
            model_name="chunk",
            name="rag_chunk_text_fts",
        ),
    ]
