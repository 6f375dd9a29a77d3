"""Reading a CSV file of hosts kept in a spreadsheet: pure, no database.

``read_hosts`` turns the uploaded bytes into valid rows and a list of problems, one per bad
cell, each naming the row as the spreadsheet shows it (the header is row 1), the column and
what is wrong. Problems with the file as a whole (too big, not UTF-8, not CSV, unknown
columns) come back as file problems and no row is read. The caller writes nothing unless
there are no problems at all.

The rules (the import page and the README say the same):

- UTF-8, with or without a byte-order mark; comma or semicolon between cells, whichever the
  header uses; at most ``MAX_ROWS`` hosts and ``settings.PORTAL_IMPORT_MAX_BYTES`` bytes.
- Header names are case-insensitive and trimmed. Required: name, serial, sockets, cores,
  memory, location, and tenant unless a default tenant is chosen. Optional: threads,
  manufacturer, model, state, kind. Any other column is refused.
- Text cells are trimmed. A cell starting with = + - @, a tab or a line break is refused,
  because a spreadsheet would run it as a formula when the data is exported again.
- An empty cell in an optional column clears the value, except state and kind, which cannot
  be empty: there it means running / bare_metal for a new host and "as it is" for an existing
  one. A column left out keeps the stored values.
- Each serial once per file; a repeat is an error on the later row.
- Completely empty rows are skipped (they still count for row numbers).
"""

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portal.registry import fields

# Enough for any estate kept in one spreadsheet; a bigger one is split into several files.
MAX_ROWS = 20_000

REQUIRED = ("name", "serial", "sockets", "cores", "memory", "location")
OPTIONAL = ("threads", "manufacturer", "model", "state", "kind")
COLUMNS = (*REQUIRED, "tenant", *OPTIONAL)
# The order of the template file and of the accepted-columns message.
TEMPLATE_COLUMNS = (
    "name", "serial", "tenant", "sockets", "cores", "threads", "memory", "location",
    "manufacturer", "model", "state", "kind",
)

# Column name -> (registry field, checker). tenant and serial are handled on their own.
_CHECKERS = {
    "name": ("name", fields.name),
    "sockets": ("sockets", fields.sockets),
    "cores": ("cores", fields.cores),
    "threads": ("threads", fields.threads),
    "memory": ("memory_mib", fields.memory_mib),
    "location": ("location", fields.location),
    "manufacturer": ("manufacturer", fields.vendor_text),
    "model": ("model", fields.vendor_text),
    "state": ("state", fields.state),
    "kind": ("kind", fields.kind),
}
# Columns whose empty cell means "default or unchanged" rather than "clear".
_KEEP_WHEN_EMPTY = ("state", "kind")

SAVE_AS = "Save it from your spreadsheet as “CSV UTF-8 (comma delimited)” and upload it again."


@dataclass(frozen=True)
class CellError:
    """One bad cell: its row as the spreadsheet numbers it, its column, what is wrong."""

    row: int
    column: str
    message: str


@dataclass(frozen=True)
class HostRow:
    """One valid row: the tenant it goes to, its serial and the facts its columns gave."""

    row: int
    tenant: Any
    serial: str
    values: dict


@dataclass
class ParsedFile:
    rows: list[HostRow] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    columns: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors and not self.file_errors


def read_hosts(data: bytes, *, tenants: Mapping[str, Any], default_tenant: Any = None,
               max_bytes: int, max_rows: int = MAX_ROWS) -> ParsedFile:
    """Parse and check every row of ``data``.

    ``tenants`` maps the lower-case slugs of the tenants the importer may write in to
    whatever the caller wants rows to carry (a Tenant); ``default_tenant`` is used for rows
    without a tenant cell, or for every row when the file has no tenant column.
    """
    problem = _file_problem(data, max_bytes)
    if problem:
        return ParsedFile(file_errors=[problem])
    text, problem = _decode(data)
    if problem:
        return ParsedFile(file_errors=[problem])

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    parsed = ParsedFile()
    try:
        header = next(reader, None)
        parsed.columns, parsed.file_errors = _columns(header or [], default_tenant is not None)
        if parsed.file_errors:
            return parsed
        _read_rows(reader, parsed, tenants, default_tenant, max_rows)
    except csv.Error as exc:
        return ParsedFile(file_errors=[
            f"Line {reader.line_num}: this is not valid CSV ({exc}). {SAVE_AS}"
        ])
    return parsed


def too_big(size: int, max_bytes: int) -> str:
    shown, limit = _size(size), _size(max_bytes)
    if shown == limit:
        shown, limit = f"{size:,} bytes", f"{max_bytes:,} bytes"
    return (
        f"The file is {shown}; the limit is {limit}. Split it into smaller files and import "
        "them one after the other."
    )


def _file_problem(data: bytes, max_bytes: int) -> str:
    """Why ``data`` cannot be a CSV file we read, before decoding a byte of it."""
    if len(data) > max_bytes:
        return too_big(len(data), max_bytes)
    if not data.strip():
        return "The file is empty. Upload a CSV file with a header row and one row per host."
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        return f"This is a spreadsheet workbook (.xlsx, .xls), not a CSV file. {SAVE_AS}"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"The file is UTF-16 text; the import reads UTF-8 only. {SAVE_AS}"
    if b"\x00" in data:
        return (
            "The file contains NUL bytes: it is binary or UTF-16, not UTF-8 CSV text. "
            + SAVE_AS
        )
    return ""


def _decode(data: bytes) -> tuple[str, str]:
    try:
        # utf-8-sig drops the byte-order mark Excel writes at the start of "CSV UTF-8".
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        byte = data[exc.start]
        return "", (
            f"The file is not UTF-8 text (byte 0x{byte:02X} on line {line}; it may be saved "
            f"as Latin-1 or Windows-1252). {SAVE_AS}"
        )


def _delimiter(text: str) -> str:
    """Comma or semicolon: whichever splits the header into more known column names."""
    first = text.lstrip("\r\n").splitlines()[0] if text.strip() else ""

    def score(delimiter: str) -> tuple[int, int]:
        cells = next(csv.reader([first], delimiter=delimiter), [])
        known = sum(1 for cell in cells if cell.strip().lower() in COLUMNS)
        return known, len(cells)

    return ";" if score(";") > score(",") else ","


def _columns(header: list[str], has_default: bool) -> tuple[tuple[str, ...], list[str]]:
    names = [cell.strip().lower() for cell in header]
    # Spreadsheets often save a few empty cells after the last named column.
    while names and not names[-1]:
        names.pop()
    problems = []

    unnamed = [str(position) for position, name in enumerate(names, 1) if not name]
    if unnamed:
        problems.append(
            f"Column(s) {', '.join(unnamed)} of the header have no name; name them or delete "
            "them."
        )
    unknown = [name for name in names if name and name not in COLUMNS]
    if unknown:
        problems.append(
            f"Unknown column(s): {', '.join(repr(name) for name in unknown)}. Accepted "
            f"columns: {', '.join(TEMPLATE_COLUMNS)}."
        )
    repeated = sorted({name for name in names if name and names.count(name) > 1})
    if repeated:
        problems.append(f"Column(s) named more than once: {', '.join(repeated)}.")
    required = REQUIRED if has_default else (*REQUIRED, "tenant")
    missing = [name for name in required if name not in names]
    if missing:
        hint = (" (or choose a default tenant for the whole file)"
                if "tenant" in missing else "")
        problems.append(
            f"Missing column(s): {', '.join(missing)}{hint}. Required columns: "
            f"{', '.join(REQUIRED)}, tenant."
        )
    return tuple(names), problems


def _read_rows(reader, parsed: ParsedFile, tenants, default_tenant, max_rows: int) -> None:
    first_row_of_serial: dict[str, int] = {}
    hosts = 0
    # The header is row 1; rows are records, as a spreadsheet numbers them, so a cell with a
    # line break inside it still makes one row.
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        hosts += 1
        if hosts > max_rows:
            parsed.rows, parsed.errors = [], []
            parsed.file_errors = [
                f"The file has more than {max_rows:,} hosts; split it into files of at most "
                f"{max_rows:,} rows and import them one after the other."
            ]
            return

        row, errors = _read_row(number, cells, parsed.columns, tenants, default_tenant)
        if row is not None:
            first = first_row_of_serial.setdefault(row.serial, number)
            if first != number:
                errors.append(CellError(
                    number, "serial",
                    f"serial {row.serial!r} is already on row {first}; list each host once.",
                ))
                row = None
        parsed.errors.extend(errors)
        if row is not None and not errors:
            parsed.rows.append(row)


def _read_row(number: int, cells: list[str], columns: tuple[str, ...], tenants,
              default_tenant) -> tuple[HostRow | None, list[CellError]]:
    errors = []
    extra = [cell for cell in cells[len(columns):] if cell.strip()]
    if extra:
        errors.append(CellError(
            number, "",
            f"has {len(cells)} cells but the header names {len(columns)} columns; remove the "
            "extra cells or give their column a name.",
        ))
    by_column = dict(zip(columns, cells, strict=False))

    values = {}
    for column in columns:
        if column in ("serial", "tenant"):
            continue
        target, check = _CHECKERS[column]
        raw = by_column.get(column, "")
        if column in _KEEP_WHEN_EMPTY and not raw.strip():
            continue
        if column in REQUIRED and not raw.strip():
            errors.append(CellError(number, column, "is required."))
            continue
        try:
            values[target] = check(raw)
        except fields.Invalid as problem:
            errors.append(CellError(number, column, str(problem)))

    for name, message in fields.cpu_problems(
        values.get("sockets"), values.get("cores"), values.get("threads")
    ).items():
        errors.append(CellError(number, name, message))

    serial = None
    try:
        serial = fields.serial(by_column.get("serial", ""))
    except fields.Invalid as problem:
        errors.append(CellError(number, "serial", str(problem)))

    tenant, problem = _tenant(by_column.get("tenant", ""), tenants, default_tenant)
    if problem:
        errors.append(CellError(number, "tenant", problem))

    # In the order of the file's columns, as the person reads the row.
    errors.sort(key=lambda error: columns.index(error.column) if error.column else -1)
    if serial is None or tenant is None:
        return None, errors
    return HostRow(number, tenant, serial, values), errors


def _tenant(raw: str, tenants, default_tenant) -> tuple[Any, str]:
    slug = raw.strip()
    if not slug:
        if default_tenant is None:
            return None, "is required: give a tenant's slug, or choose a default tenant."
        return default_tenant, ""
    tenant = tenants.get(slug.lower())
    if tenant is None:
        # The same words whether the tenant exists or not: no hint about other tenants.
        return None, (
            f"no tenant {slug!r} where you may register hosts (that needs the admin or "
            "operator role)."
        )
    return tenant, ""


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MB"
    if count >= 1024:
        return f"{count / 1024:.1f} kB"
    return f"{count} bytes"


def spreadsheet_safe(value) -> str:
    """``value`` as text a spreadsheet shows rather than runs, for any CSV the portal writes.

    Text starting with a formula character gets a leading apostrophe, which spreadsheets hide
    and treat as "this is text"; numbers are written as they are.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(fields.FORMULA_STARTS) else text


def template_rows(tenant_slug: str) -> list[list[str]]:
    """The downloadable template: the header and two example rows."""
    examples = [
        ["db-01", "CZ2049ABCD", tenant_slug, "2", "32", "64", "256 GiB", "DC1 rack A3 U12",
         "Dell", "PowerEdge R650", "running", "bare_metal"],
        ["build-07", "MXQ81204ZT", tenant_slug, "1", "16", "", "128", "DC2 rack B1 U30",
         "", "", "stopped", ""],
    ]
    rows = [list(TEMPLATE_COLUMNS), *examples]
    return [[spreadsheet_safe(cell) for cell in row] for row in rows]
