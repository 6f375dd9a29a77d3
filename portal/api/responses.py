"""Answers the API gives in more than one place."""

from rest_framework import status
from rest_framework.response import Response


def accepted(data) -> Response:
    """202 for work queued in the background, pointing ``Location`` at where to follow it."""
    # data["url"] is a DRF Hyperlink, a str subclass that WSGI servers refuse in headers.
    return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": str(data["url"])})
