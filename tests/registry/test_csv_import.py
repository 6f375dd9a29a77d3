"""The CSV reader on its own: every rule of the file format, without a database.

Tenants are plain strings here: ``read_hosts`` only passes on whatever the mapping holds.
"""

import pytest

from portal.registry.csv_import import MAX_ROWS, read_hosts, spreadsheet_safe, template_rows
from tests.registry.conftest import GOOD_ROWS, HEADER, csv_bytes

TENANTS = {"acme": "ACME", "initech": "INITECH"}
LIMIT = 5 * 1024 * 1024


def read(data: bytes, **kwargs):
    kwargs.setdefault("tenants", TENANTS)
    kwargs.setdefault("max_bytes", LIMIT)
    return read_hosts(data, **kwargs)


def problems(parsed) -> list[tuple[int, str]]:
    return [(error.row, error.column) for error in parsed.errors]


def message(parsed, row: int, column: str) -> str:
    (found,) = [e.message for e in parsed.errors if (e.row, e.column) == (row, column)]
    return found


# --- good files ------------------------------------------------------------------------------

def test_good_file_gives_one_row_per_host_with_clean_values(good_csv):
    parsed = read(good_csv)

    assert parsed.ok
    assert [row.serial for row in parsed.rows] == ["SN-0001", "SN-0002", "SN-0003"]
    first = parsed.rows[0]
    assert first.row == 2
    assert first.tenant == "ACME"
    assert first.values == {
        "name": "db-01", "sockets": 2, "cores": 32, "threads": 64, "memory_mib": 262144,
        "location": "DC1 rack A3 U12", "manufacturer": "Dell", "model": "PowerEdge R650",
        "state": "running",
    }
    assert parsed.rows[2].values["threads"] is None
    assert parsed.rows[2].values["state"] == "stopped"


@pytest.mark.parametrize(("written", "mib"), [
    ("256", 262144), ("256 GiB", 262144), ("256GB", 262144), ("256 gb", 262144),
    ("1.5 TiB", 1572864), ("2T", 2097152), ("1536 MiB", 1536), ("1.5", 1536),
])
def test_memory_is_read_in_gib_unless_a_unit_says_otherwise(written, mib):
    parsed = read(csv_bytes(f"a,S1,acme,1,4,,{written},here,,,"))

    assert parsed.ok, parsed.errors
    assert parsed.rows[0].values["memory_mib"] == mib


def test_header_names_are_trimmed_and_case_insensitive_and_columns_may_be_reordered():
    data = csv_bytes("DC1,4,1,S1,h1,32", header=" Location ,CORES,Sockets,SERIAL,Name ,Memory")

    parsed = read(data, default_tenant="ACME")

    assert parsed.ok, parsed.file_errors
    assert parsed.rows[0].values["cores"] == 4
    assert parsed.rows[0].tenant == "ACME"


def test_semicolon_files_and_a_utf8_bom_are_read():
    header = HEADER.replace(",", ";")
    rows = [row.replace(",", ";") for row in GOOD_ROWS]
    data = b"\xef\xbb\xbf" + csv_bytes(*rows, header=header)

    parsed = read(data)

    assert parsed.ok, parsed.file_errors
    assert [row.values["name"] for row in parsed.rows] == ["db-01", "db-02", "build-07"]


def test_semicolon_file_keeps_commas_inside_cells():
    data = csv_bytes("web, front;S1;acme;1;4;8;16;DC1, rack 2;;;",
                     header=HEADER.replace(",", ";"))

    parsed = read(data)

    assert parsed.ok, parsed.errors
    assert parsed.rows[0].values["location"] == "DC1, rack 2"


def test_empty_rows_are_skipped_but_still_count_for_row_numbers():
    data = csv_bytes(GOOD_ROWS[0], ",,,,,,,,,,", "", "db-02,SN-0002,acme,0,32,,256,x,,,")

    parsed = read(data)

    assert problems(parsed) == [(5, "sockets")]
    assert [row.row for row in parsed.rows] == [2]


def test_tenant_cell_may_be_empty_when_a_default_is_chosen():
    parsed = read(csv_bytes("a,S1,,1,4,,16,here,,,", "b,S2,initech,1,4,,16,here,,,"),
                  default_tenant="ACME")

    assert [row.tenant for row in parsed.rows] == ["ACME", "INITECH"]


def test_state_and_kind_left_empty_are_not_given_but_other_optional_cells_clear():
    data = csv_bytes("a,S1,acme,1,4,,16,here,,,", header=HEADER)

    values = read(data).rows[0].values

    assert "state" not in values
    assert values["threads"] is None
    assert values["manufacturer"] == "" and values["model"] == ""


def test_a_left_out_optional_column_is_not_given_at_all():
    data = csv_bytes("a,S1,1,4,16,here", header="name,serial,sockets,cores,memory,location")

    values = read(data, default_tenant="ACME").rows[0].values

    assert set(values) == {"name", "sockets", "cores", "memory_mib", "location"}


def test_a_quoted_cell_with_a_line_break_is_one_row_and_refused_as_multi_line():
    data = csv_bytes('"two\nlines",S1,acme,1,4,,16,here,,,', "b,S2,acme,1,4,,16,here,,,x")

    parsed = read(data)

    assert problems(parsed) == [(2, "name"), (3, "state")]
    assert "one line" in message(parsed, 2, "name")


# --- bad cells ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("cells", "column", "words"), [
    ("a,S1,acme,0,4,,16,here,,,", "sockets", "must be a whole number from 1 to 64"),
    ("a,S1,acme,65,65,,16,here,,,", "sockets", "must be a whole number from 1 to 64"),
    ("a,S1,acme,-1,4,,16,here,,,", "sockets", "must be a whole number from 1 to 64"),
    ("a,S1,acme,1.5,4,,16,here,,,", "sockets", "must be a whole number from 1 to 64"),
    ("a,S1,acme,two,4,,16,here,,,", "sockets", "must be a whole number from 1 to 64"),
    ("a,S1,acme,,4,,16,here,,,", "sockets", "is required"),
    ("a,S1,acme,4,2,,16,here,,,", "cores", "at least the number of sockets (4)"),
    ("a,S1,acme,1,4,2,16,here,,,", "threads", "at least the number of cores (4)"),
    ("a,S1,acme,1,4,64,16,here,,,", "threads", "at most 8 per core"),
    ("a,S1,acme,1,4,,16 PB,here,,,", "memory", "such as 256, 256 GiB"),
    ("a,S1,acme,1,4,,\"1,024\",here,,,", "memory", "without thousands separators"),
    ("a,S1,acme,1,4,,0.5,here,,,", "memory", "from 1 GiB to 64 TiB"),
    ("a,S1,acme,1,4,,100000,here,,,", "memory", "from 1 GiB to 64 TiB"),
    ("a,S1,acme,1,4,,1.1,here,,,", "memory", "not a whole number of MiB"),
    ("a,S1,acme,1,4,,16,,,,", "location", "is required"),
    (",S1,acme,1,4,,16,here,,,", "name", "is required"),
    ("a,,acme,1,4,,16,here,,,", "serial", "is required"),
    ("a,S 1!,acme,1,4,,16,here,,,", "serial", "letters, digits, spaces and"),
    ("a,S1,acme,1,4,,16,here,,,sleeping", "state", "must be one of running, stopped, retired"),
    ("a" * 256 + ",S1,acme,1,4,,16,here,,,", "name", "at most 255 characters (it has 256)"),
    ("a,S1,acme,1,4,,16,here," + "m" * 129 + ",,", "manufacturer", "at most 128 characters"),
])
def test_each_bad_cell_is_reported_with_row_column_and_what_is_wrong(cells, column, words):
    parsed = read(csv_bytes(GOOD_ROWS[0], cells))

    assert problems(parsed) == [(3, column)]
    assert words in message(parsed, 3, column)
    assert [row.row for row in parsed.rows] == [2]
    assert not parsed.ok


def test_every_bad_cell_of_every_row_is_reported_in_file_order():
    data = csv_bytes(
        GOOD_ROWS[0],
        "db-02,SN-0002,acme,0,32,,lots,DC1,,,",
        GOOD_ROWS[2],
        ",SN-0004,nowhere,2,1,,256,DC1,,,broken",
    )

    parsed = read(data)

    assert problems(parsed) == [
        (3, "sockets"), (3, "memory"),
        (5, "name"), (5, "tenant"), (5, "cores"), (5, "state"),
    ]


@pytest.mark.parametrize("cell", [
    "=HYPERLINK(\"http://evil\")", "+cmd", "-2+3", "@SUM(A1)", "\tx", " =1+1",
])
def test_text_cells_a_spreadsheet_would_run_as_formulas_are_refused(cell):
    quoted = '"' + cell.replace('"', '""') + '"'
    data = csv_bytes(f"{quoted},S1,acme,1,4,,16,{quoted},,,")

    parsed = read(data)

    assert problems(parsed) == [(2, "name"), (2, "location")]
    assert "spreadsheets would run it as a formula" in message(parsed, 2, "name")


def test_a_negative_number_gets_the_numeric_message_not_the_formula_one():
    parsed = read(csv_bytes("a,S1,acme,-1,-4,,-16,here,,,"))

    assert "whole number from 1 to 64" in message(parsed, 2, "sockets")
    assert "whole number from 1 to" in message(parsed, 2, "cores")
    assert "such as 256" in message(parsed, 2, "memory")


def test_a_repeated_serial_is_an_error_on_the_later_row():
    data = csv_bytes(GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[0].replace("db-01", "db-01b"))

    parsed = read(data)

    assert problems(parsed) == [(4, "serial")]
    assert "already on row 2" in message(parsed, 4, "serial")


def test_a_tenant_not_writable_reads_the_same_as_one_that_does_not_exist():
    data = csv_bytes(GOOD_ROWS[0].replace("acme", "globex"),
                     GOOD_ROWS[1].replace("acme", "no-such-tenant"))

    parsed = read(data)

    assert problems(parsed) == [(2, "tenant"), (3, "tenant")]
    hidden = message(parsed, 2, "tenant").replace("globex", "X")
    assert hidden == message(parsed, 3, "tenant").replace("no-such-tenant", "X")


def test_a_row_without_tenant_and_no_default_is_refused():
    parsed = read(csv_bytes(GOOD_ROWS[0].replace("acme", "")))

    assert "choose a default tenant" in message(parsed, 2, "tenant")


def test_extra_cells_beyond_the_header_are_refused_but_empty_ones_are_not():
    data = csv_bytes(GOOD_ROWS[0] + ",,", GOOD_ROWS[1] + ",surprise")

    parsed = read(data)

    assert problems(parsed) == [(3, "")]
    assert "has 12 cells but the header names 11 columns" in message(parsed, 3, "")


# --- bad headers -------------------------------------------------------------------------------

def test_unknown_columns_are_refused_listing_the_accepted_ones():
    parsed = read(csv_bytes("a", header=HEADER + ",colour,Owner"))

    (problem,) = parsed.file_errors
    assert "Unknown column(s): 'colour', 'owner'." in problem
    assert "Accepted columns: name, serial, tenant, sockets, cores, threads, memory" in problem
    assert parsed.rows == [] and parsed.errors == []


def test_missing_required_columns_are_named():
    parsed = read(csv_bytes("a,S1", header="name,serial"))

    (problem,) = parsed.file_errors
    assert problem.startswith("Missing column(s): sockets, cores, memory, location, tenant")
    assert "or choose a default tenant" in problem


def test_tenant_column_is_not_required_with_a_default_tenant():
    parsed = read(csv_bytes("a,S1,1,4,16,x", header="name,serial,sockets,cores,memory,location"),
                  default_tenant="ACME")

    assert parsed.ok


def test_repeated_and_unnamed_columns_are_refused():
    parsed = read(csv_bytes("a", header="name,serial,Name,,sockets,cores,memory,location"),
                  default_tenant="ACME")

    assert parsed.file_errors == [
        "Column(s) 4 of the header have no name; name them or delete them.",
        "Column(s) named more than once: name.",
    ]


# --- hostile files -----------------------------------------------------------------------------

def test_a_file_over_the_byte_limit_is_refused_before_reading():
    data = csv_bytes(*GOOD_ROWS)

    parsed = read(data, max_bytes=len(data) - 1)

    (problem,) = parsed.file_errors
    assert f"The file is {len(data):,} bytes; the limit is {len(data) - 1:,} bytes." in problem


def test_the_default_limit_of_five_megabytes_refuses_a_bigger_file():
    data = csv_bytes(*GOOD_ROWS) + b" " * (LIMIT + 1024 * 1024)

    (problem,) = read(data).file_errors

    assert problem.startswith("The file is 6.0 MB; the limit is 5.0 MB.")


def test_more_rows_than_the_limit_are_refused_as_a_whole():
    rows = [f"h{n},S{n},acme,1,4,,16,here,,," for n in range(MAX_ROWS + 1)]

    parsed = read(csv_bytes(*rows))

    assert parsed.file_errors == [
        "The file has more than 20,000 hosts; split it into files of at most 20,000 rows and "
        "import them one after the other."
    ]
    assert parsed.rows == [] and parsed.errors == []


def test_exactly_the_row_limit_is_accepted():
    rows = [f"h{n},S{n},acme,1,4,,16,here,,," for n in range(5)]

    parsed = read(csv_bytes(*rows), max_rows=5)

    assert parsed.ok and len(parsed.rows) == 5


@pytest.mark.parametrize(("encoding", "words"), [
    ("latin-1", "not UTF-8 text (byte 0xE9 on line 2"),
    ("cp1252", "not UTF-8 text (byte 0xE9 on line 2"),
    ("utf-16", "UTF-16 text"),
    ("utf-16-le", "NUL bytes"),
])
def test_other_encodings_are_refused_asking_for_csv_utf8(encoding, words):
    data = csv_bytes("café,S1,acme,1,4,,16,here,,,", encoding=encoding)

    (problem,) = read(data).file_errors

    assert words in problem
    assert "CSV UTF-8" in problem


def test_nul_bytes_are_refused_as_binary():
    data = csv_bytes(GOOD_ROWS[0]) + b"\x00\x01\x02"

    (problem,) = read(data).file_errors

    assert problem.startswith("The file contains NUL bytes")


@pytest.mark.parametrize("start", [b"PK\x03\x04", b"\xd0\xcf\x11\xe0"])
def test_workbooks_are_refused_with_a_hint(start):
    (problem,) = read(start + b"\x14\x00rest of a workbook").file_errors

    assert "spreadsheet workbook (.xlsx, .xls), not a CSV file" in problem


@pytest.mark.parametrize("data", [b"", b"  \r\n\r\n"])
def test_an_empty_file_is_refused(data):
    (problem,) = read(data).file_errors

    assert problem.startswith("The file is empty.")


def test_broken_quoting_is_refused_with_the_line():
    data = csv_bytes(GOOD_ROWS[0], '"db-02"x,SN-0002,acme,2,32,,256,DC1,,,')

    (problem,) = read(data).file_errors

    assert problem.startswith("Line 3: this is not valid CSV")


def test_a_cell_beyond_the_csv_field_limit_is_refused_not_read():
    data = csv_bytes(GOOD_ROWS[0], "a,S2,acme,1,4,,16," + "x" * 200_000 + ",,,")

    (problem,) = read(data).file_errors

    assert "not valid CSV (field larger than field limit" in problem


# --- exports -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "written"), [
    ("=1+1", "'=1+1"), ("+x", "'+x"), ("-x", "'-x"), ("@x", "'@x"), ("\tx", "'\tx"),
    ("plain", "plain"), (-1, "-1"), (None, ""),
])
def test_spreadsheet_safe_escapes_text_that_would_run_as_a_formula(value, written):
    assert spreadsheet_safe(value) == written


def test_the_template_reads_back_as_a_valid_file():
    lines = [",".join(row) for row in template_rows("acme")]
    data = ("\r\n".join(lines) + "\r\n").encode()

    parsed = read(data)

    assert parsed.ok, (parsed.file_errors, parsed.errors)
    assert len(parsed.rows) == 2
