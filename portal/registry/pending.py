"""Carrying an uploaded CSV file from its dry run to "Import now" without storing it.

The file's bytes go back to the browser compressed and signed, in a hidden field of the
result page, and return with the "Import now" button. The signature binds them to the user
and expires, so the import writes exactly the file that was checked, for the person who
checked it. Files too big to carry this way are uploaded again instead.
"""

import base64
import zlib

from django.conf import settings
from django.core import signing

# Well below Django's 2.5 MB limit on a form's non-file data (DATA_UPLOAD_MAX_MEMORY_SIZE).
MAX_TOKEN_CHARS = 1_000_000
# Long enough to read a plan and decide; short enough that a stale plan is not acted on.
MAX_AGE_SECONDS = 3600


def _salt(user) -> str:
    return f"portal.registry.import:{user.pk}"


def sign(user, data: bytes, file_name: str, tenant_id: int | None) -> str | None:
    """A token holding the file, or None when it is too big to carry."""
    packed = base64.b64encode(zlib.compress(data, 6)).decode("ascii")
    token = signing.dumps(
        {"name": file_name[:200], "tenant": tenant_id, "data": packed}, salt=_salt(user)
    )
    return token if len(token) <= MAX_TOKEN_CHARS else None


def unsign(user, token: str) -> tuple[bytes, str, int | None] | None:
    """The file, its name and default tenant id; None when forged, altered or expired."""
    if len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        payload = signing.loads(token, salt=_salt(user), max_age=MAX_AGE_SECONDS)
        # Never more than the import would accept, whatever the token holds.
        limit = settings.PORTAL_IMPORT_MAX_BYTES + 1
        data = zlib.decompressobj().decompress(base64.b64decode(payload["data"]), limit)
    except (signing.BadSignature, KeyError, TypeError, ValueError, zlib.error):
        return None
    return data, str(payload.get("name", "")), payload.get("tenant")
