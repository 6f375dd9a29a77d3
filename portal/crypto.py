"""Encryption at rest for provider credentials (Fernet, key from PORTAL_ENCRYPTION_KEY)."""

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=4)
def _fernet(keys: str) -> MultiFernet:
    # Several comma-separated keys allow rotation: the first encrypts, all of them decrypt.
    try:
        return MultiFernet([Fernet(key.strip()) for key in keys.split(",") if key.strip()])
    except ValueError:
        raise ImproperlyConfigured(
            "PORTAL_ENCRYPTION_KEY must be one or more Fernet keys (32 url-safe base64 bytes), "
            "comma-separated. Make one with: python -c 'from cryptography.fernet import "
            "Fernet; print(Fernet.generate_key().decode())'"
        ) from None


def encrypt_json(data: dict) -> str:
    return _fernet(settings.PORTAL_ENCRYPTION_KEY).encrypt(json.dumps(data).encode()).decode()


def decrypt_json(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_fernet(settings.PORTAL_ENCRYPTION_KEY).decrypt(token.encode()))
    except InvalidToken:
        raise ImproperlyConfigured(
            "Stored provider credentials cannot be decrypted with PORTAL_ENCRYPTION_KEY; "
            "the key changed without keeping the old one for rotation."
        ) from None
