"""Fixtures for the registry tests: CSV text helpers and a signed-in API upload."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

HEADER = "name,serial,tenant,sockets,cores,threads,memory,location,manufacturer,model,state"


def csv_bytes(*rows: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    """A CSV file of ``header`` and ``rows``, with the line ends spreadsheets write."""
    return "\r\n".join([header, *rows, ""]).encode(encoding)


GOOD_ROWS = (
    "db-01,SN-0001,acme,2,32,64,256 GiB,DC1 rack A3 U12,Dell,PowerEdge R650,running",
    "db-02,SN-0002,acme,2,32,64,256GB,DC1 rack A3 U14,Dell,PowerEdge R650,running",
    "build-07,SN-0003,acme,1,16,,128,DC2 rack B1 U30,,,stopped",
)


@pytest.fixture
def good_csv() -> bytes:
    return csv_bytes(*GOOD_ROWS)


@pytest.fixture
def upload():
    """``upload(client, content, **fields)``: POST a CSV file to the import endpoint."""
    def post(client, content: bytes, name: str = "hosts.csv", **fields):
        data = {"file": SimpleUploadedFile(name, content, content_type="text/csv"), **fields}
        return client.post("/api/manual-hosts/import/", data, format="multipart")

    return post
