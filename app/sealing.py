"""Sealing small secrets at rest with a key the database does not hold.

AES-GCM under a key derived by HKDF from the app's SECRET_KEY, a different key for each purpose
(its `context`), a random nonce for each seal. Someone with the database alone cannot read what is
sealed; the running app can. Changing SECRET_KEY leaves what was sealed unreadable until it is put
back. Used for anonymous feedback held back until its session closes, and for the secret links in
emails waiting in the outbox.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_NONCE = 12


def _cipher(context: bytes) -> AESGCM:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else bytes(secret)
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=context).derive(secret))


def seal(context: bytes, data: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + _cipher(context).encrypt(nonce, data, context)


def unseal(context: bytes, blob: bytes) -> bytes:
    """The sealed bytes; raises cryptography's InvalidTag when the key or the blob is not the one sealed."""
    return _cipher(context).decrypt(bytes(blob[:_NONCE]), bytes(blob[_NONCE:]), context)
