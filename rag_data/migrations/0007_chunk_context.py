"""Chunk.context (the document title and the chunk's section headings) and a weighted keyword tsvector.

search_vector becomes setweight(to_tsvector('english', context), 'A') || setweight(to_tsvector('english', text),
'B'), so a title or heading word ranks above the same word in the body. A generated column cannot be altered: the
column and its GIN index are dropped and added again, and PostgreSQL recomputes it for every row while it rewrites
the table. Existing chunks get an empty context until their documents are ingested again (`manage.py ingest`
rewrites a document whose stored context differs).
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.contrib.postgres.search import SearchVector
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("rag_data", "0006_document_metadata"),
    ]

    operations = [
        migrations.AddField(
            model_name="chunk",
            name="context",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RemoveIndex(model_name="chunk", name="rag_chunk_search_vector"),
        migrations.RemoveField(model_name="chunk", name="search_vector"),
        migrations.AddField(
            model_name="chunk",
            name="search_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=SearchVector("context", config="english", weight="A")
                + SearchVector("text", config="english", weight="B"),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="chunk",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_vector"], name="rag_chunk_search_vector"),
        ),
    ]
