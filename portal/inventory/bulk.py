"""Inserting many rows at once, as fast as the database allows, and getting their ids back.

On PostgreSQL new rows go in with ``COPY``: Django's ``bulk_create`` spends most of its time
preparing and quoting each of the tens of thousands of values of a 1,000-row INSERT, while
``COPY`` streams the same rows several times faster (see ``bench/sync.py``). Their ids are
drawn from the table's sequence beforehand in one query, since COPY returns nothing. Every other
database gets ``bulk_create``, which returns the ids itself.
"""

import json

from django.db import connection, models


def _copy(model: type[models.Model], rows: list[dict]) -> list[int]:
    meta = model._meta
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]

        fields = [meta.pk, *(meta.get_field(name) for name in rows[0])]
        columns = ", ".join(quote(field.column) for field in fields)
        is_json = [isinstance(field, models.JSONField) for field in fields]
        # Django's cursor wraps psycopg's; COPY needs the driver's own cursor.
        with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                copy.write_row([
                    json.dumps(value) if as_json and value is not None else value
                    for value, as_json in zip((pk, *row.values()), is_json, strict=True)
                ])
    return ids


def insert_rows(model: type[models.Model], rows: list[dict]) -> list[int]:
    """Insert ``rows`` (dicts of field attname to value, all with the same keys).

    Returns the new rows' primary keys in the order of ``rows``.
    """
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return _copy(model, rows)
    return [obj.pk for obj in model.objects.bulk_create([model(**row) for row in rows])]
