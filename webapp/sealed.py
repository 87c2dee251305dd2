"""Columns stored encrypted: a copy of the database alone does not give them away.

`Sealed` encrypts on the way into the database and decrypts on the way out
(Fernet: AES-128-CBC with HMAC-SHA256) with a key the database does not hold:
`DATA_KEY` from the environment, or else one derived from `SECRET_KEY`.
`create_app` sets it (`configure`). Used for the staff members' TOTP secrets,
which, unlike passwords, cannot be stored as a one-way hash.

Changing `SECRET_KEY` without a `DATA_KEY` makes the stored secrets unreadable
(staff would enrol their authenticator again): production sets `DATA_KEY`.

A new key: put the old one in `DATA_KEY_RETIRED` (several: comma-separated)
and the new one in `DATA_KEY`, then run `flask reseal`, which seals every value
again with the new key; after that the old key can go.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import (
    Connection,
    MetaData,
    String,
    TypeDecorator,
    bindparam,
    select,
    type_coerce,
)

# The keys of the apps made in this process, the newest first: a process runs
# one app, except the tests, which make several (with other settings).
_fernets: dict[bytes, Fernet] = {}
_multi: MultiFernet | None = None  # seals with the newest, opens with any


def key_from(data_key: str, secret_key: str) -> bytes:
    if data_key:
        return data_key.encode()
    digest = hmac.new(secret_key.encode(), b"footing sealed columns", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)


def retired_keys(value: str) -> list[bytes]:
    """The keys of `DATA_KEY_RETIRED`: comma-separated."""
    return [k.strip().encode() for k in value.split(",") if k.strip()]


def configure(key: bytes, retired: list[bytes] | None = None) -> None:
    """Seal with `key` from now on; still open what the `retired` keys and
    earlier keys sealed. A ValueError when one is not a key."""
    global _multi
    newest = {k: Fernet(k) for k in (key, *(retired or []))}
    for k in newest:
        _fernets.pop(k, None)
    newest.update(_fernets)
    _fernets.clear()
    _fernets.update(newest)
    _multi = MultiFernet(list(_fernets.values()))


def _cipher() -> MultiFernet:
    if _multi is None:
        raise RuntimeError("webapp.sealed is not configured: create the app first")
    return _multi


def seal(value: str) -> str:
    return _cipher().encrypt(value.encode()).decode()


def unseal(value: str) -> str:
    try:
        return _cipher().decrypt(value.encode()).decode()
    except InvalidToken:
        raise RuntimeError(
            "a sealed column cannot be read with this DATA_KEY / SECRET_KEY") from None


def reseal(connection: Connection, metadata: MetaData) -> int:
    """Seal every sealed value of every table again with the newest key (each
    keeps the time it was first sealed). Returns how many were."""
    done = 0
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, Sealed)]
        key = list(table.primary_key.columns)
        for column in columns:
            raw = type_coerce(column, String)  # the stored token, not opened
            # All read first: SQLite may show a scan rows it has just updated.
            for row in connection.execute(select(*key, raw).where(column.is_not(None))).all():
                ids, token = row[:-1], row[-1]
                try:
                    fresh = _cipher().rotate(token.encode()).decode()
                except InvalidToken:
                    raise RuntimeError(f"{table.name}.{column.name}: a value no configured key "
                                       "opens (is the old key in DATA_KEY_RETIRED?)") from None
                connection.execute(
                    table.update().where(*(k == i for k, i in zip(key, ids, strict=True)))
                    .values({column.name: bindparam("fresh", fresh, type_=String)}))
                done += 1
    return done


class Sealed(TypeDecorator):
    impl = String(255)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else seal(value)

    def process_result_value(self, value, dialect):
        return None if value is None else unseal(value)
