"""Encryption at rest of the tenants' API secrets (Fernet, keys from JOBSDASH_CREDENTIALS_KEY)."""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the configured keys (keys changed or data damaged)."""


@functools.cache
def _fernet() -> MultiFernet:
    keys = list(settings.CREDENTIALS_KEYS)
    if not keys:
        # DEBUG only (settings refuse to start otherwise): a key derived from SECRET_KEY.
        digest = hashlib.sha256(b"jobsdash-credentials:" + settings.SECRET_KEY.encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "JOBSDASH_CREDENTIALS_KEY must hold Fernet keys (32 url-safe base64-encoded bytes each)"
        ) from None


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("stored API secret cannot be decrypted with JOBSDASH_CREDENTIALS_KEY") from None
