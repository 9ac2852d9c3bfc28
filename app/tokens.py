"""Random tokens for links in emails: only their hash is ever stored."""

import hashlib
import secrets


def new_token() -> tuple[str, str]:
    """A URL-safe token with 256 bits of randomness, and the hash to store for it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
