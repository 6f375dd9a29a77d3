"""One error shape for the whole API.

DRF already names the field in validation errors (``{"field": ["what is wrong"]}``); this
handler keeps that and adds a top-level ``detail`` so a client always has one sentence to show.
"""

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.views import exception_handler


class Conflict(APIException):
    """409: the request is valid but the object's current state rules it out."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


def portal_exception_handler(exc, context):
    response = exception_handler(exc, context)
    if response is None or not isinstance(response.data, dict):
        if response is not None and isinstance(response.data, list):
            response.data = {"detail": " ".join(str(item) for item in response.data)}
        return response

    if "detail" not in response.data:
        parts = []
        for field, errors in response.data.items():
            messages = errors if isinstance(errors, list) else [errors]
            label = "" if field == "non_field_errors" else f"{field}: "
            parts.append(label + " ".join(str(message) for message in messages))
        response.data = {"detail": "Invalid input. " + "; ".join(parts), **response.data}
    return response
