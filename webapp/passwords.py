"""Hashing of PINs, passwords, codes (argon2id) and random tokens (SHA-256)."""
from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_secret(secret: str) -> str:
    return _hasher().hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """Constant work whether or not a hash exists, so timing tells nothing."""
    hasher = _hasher()
    if stored_hash is None:
        hasher.hash(secret)
        return False
    try:
        return hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """For long random tokens (sessions, device secrets) a fast hash suffices:
    they cannot be guessed, only stolen, and the database copy is useless."""
    return hashlib.sha256(token.encode()).hexdigest()
