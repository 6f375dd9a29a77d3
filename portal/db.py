"""Database connection tweaks applied as each connection opens."""

import sqlite3

from django.db.backends.signals import connection_created


def _use_sqlite_variable_limit(sender, connection, **kwargs) -> None:
    # Django 5.2 assumes SQLite's historic limit of 999 bound variables and splits a bulk insert
    # of 1,000 hosts into about twenty statements. SQLite since 3.32 allows 32,766; asking the
    # connection for its real limit makes one sync batch one INSERT, as on PostgreSQL.
    if connection.vendor != "sqlite" or connection.connection is None:
        return
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    connection.features.max_query_params = limit


def install() -> None:
    connection_created.connect(_use_sqlite_variable_limit, dispatch_uid="portal-sqlite-limit")
