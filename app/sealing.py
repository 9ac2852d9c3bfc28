"""Sealing small secrets at rest with a key the database does not hold.

AES-GCM under a key derived by HKDF from the app's SECRET_KEY, a different key for each purpose
(its `context`), a random nonce for each seal. Someone with the database alone cannot read what is
sealed; the running app can. Changing SECRET_KEY leaves what was sealed unreadable until it is put
back. Used for anonymous feedback held back until its session (or community meeting) closes, and for the
secret links in emails waiting in the outbox. The padded seal and the shuffled write-out below are
the shared parts of anonymous feedback (app/evaluation/anonymity.py, app/communities/services/feedback.py).
"""

from __future__ import annotations

import os
import random
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import insert

from app.db import db

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


def seal_padded(context: bytes, data: bytes, size: int) -> bytes:
    """Seal `data` padded to `size` bytes, so neither the words nor their length show in the row or the log."""
    if len(data) > size - 4:
        raise ValueError("too long to seal")  # callers keep what they seal within their forms' limits
    return seal(context, len(data).to_bytes(4, "big") + data + bytes(size - 4 - len(data)))


def unseal_padded(context: bytes, blob: bytes) -> bytes:
    padded = unseal(context, blob)
    return padded[4:4 + int.from_bytes(padded[:4], "big")]


def random_key() -> str:
    """A row key that says nothing of when or in what order the row was written."""
    return secrets.token_hex(16)


def write_out_shuffled(table, rows: list[dict]) -> None:
    """Anonymous answers released together: one statement, in a random order, each with a fresh random
    `key`, so neither the rows' physical order nor their keys follow the order they were given in."""
    rows = [{**row, "key": random_key()} for row in rows]
    random.SystemRandom().shuffle(rows)
    if rows:
        db.session.execute(insert(table), rows)
    db.session.flush()
