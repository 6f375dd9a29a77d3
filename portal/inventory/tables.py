"""Sortable tables for the inventory pages: which columns exist and how each one sorts."""

from dataclasses import dataclass

from django.db.models import F, QuerySet


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # The model field path the column sorts by; empty when the column does not sort.
    order_by: str = ""
    numeric: bool = False


@dataclass(frozen=True)
class Header:
    column: Column
    url: str
    # "asc", "desc" or "" (not the sort column).
    direction: str


class SortableTable:
    """A queryset ordered by the ``sort`` query parameter ("name", "-vcpus", …)."""

    columns: tuple[Column, ...] = ()
    default_sort = ""

    def __init__(self, queryset: QuerySet, params):
        self.params = params
        self.sort = self._clean_sort(params.get("sort", ""))
        self.queryset = self._order(queryset)

    def _clean_sort(self, value: str) -> str:
        # An unknown column falls back to the default instead of failing: sort links are
        # bookmarked and shared, and a renamed column should not break them.
        keys = {column.key for column in self.columns if column.order_by}
        return value if value.lstrip("-") in keys else self.default_sort

    def _order(self, queryset: QuerySet) -> QuerySet:
        key = self.sort.lstrip("-")
        column = next(column for column in self.columns if column.key == key)
        field = F(column.order_by)
        # Empty values sort last either way, so "largest first" starts with real numbers
        # on SQLite and PostgreSQL alike (they disagree on where NULL goes by default).
        if self.sort.startswith("-"):
            first = field.desc(nulls_last=True)
        else:
            first = field.asc(nulls_last=True)
        # The primary key breaks ties so pages never overlap or skip rows.
        return queryset.order_by(first, "pk")

    def headers(self) -> list[Header]:
        """One header per column, each linking to the sort it would switch to."""
        headers = []
        for column in self.columns:
            if not column.order_by:
                headers.append(Header(column, "", ""))
                continue

            direction = ""
            if self.sort == column.key:
                direction = "asc"
            elif self.sort == f"-{column.key}":
                direction = "desc"
            # A click on the current column flips it; a click elsewhere sorts ascending.
            target = f"-{column.key}" if direction == "asc" else column.key
            params = self.params.copy()
            params["sort"] = target
            params.pop("page", None)
            headers.append(Header(column, f"?{params.urlencode()}", direction))
        return headers


class HostTable(SortableTable):
    columns = (
        Column("name", "Name", "name"),
        Column("provider", "Provider", "provider__name"),
        Column("state", "State", "state"),
        Column("region", "Region", "region"),
        Column("type", "Type", "instance_type"),
        Column("vcpus", "vCPUs", "vcpus", numeric=True),
        Column("memory", "Memory", "memory_mib", numeric=True),
        Column("last_seen", "Last seen", "last_seen"),
    )
    default_sort = "name"
