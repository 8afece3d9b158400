"""One-statement INSERT of a new model row, with its SQL built once per model (for the per-search query log).

Django's `save()` compiles the same INSERT on every call (~1 ms of CPU per row here: SQLInsertCompiler,
signals, the save machinery); a search logs one row per request, so it adds to every search's latency. This
issues exactly the statement `save()` would for a new row whose primary key is set on the client (the values
go through each field's own `get_db_prep_save`, so JSON, UUIDs and datetimes are adapted as Django does).
Only for models without signal receivers or save() overrides that matter (the rag_data Query log).
"""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models import Model


@functools.cache
def _statement(model: type[Model]) -> tuple[str, tuple]:
    meta = model._meta
    fields = tuple(f for f in meta.concrete_fields if not f.generated)
    q = connection.ops.quote_name
    sql = (f"INSERT INTO {q(meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    return sql, fields


def insert(instance: Model) -> Model:
    """INSERT `instance` (a new row; its primary key already set, as a UUID default does) in one statement."""
    if instance.pk is None:
        raise ValueError(f"{type(instance).__name__}: insert() needs the primary key set on the client")
    sql, fields = _statement(type(instance))
    values = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
    instance._state.adding, instance._state.db = False, connection.alias
    return instance
