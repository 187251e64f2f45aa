"""Classroom secrets: the teacher password (salted scrypt), join codes, seat keys and teacher tokens.

Only hashes are stored. Passwords go through :func:`hashlib.scrypt` with a random 16-byte salt; seat keys
and tokens are random and long, so a plain SHA-256 digest of them is enough. Every comparison is
:func:`hmac.compare_digest` (no timing leak).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from ..errors import ColdstartError

# join codes and seat keys: capitals and digits without look-alikes (no 0/O, 1/I/L)
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
SEAT_KEY_LENGTH = 10        # ~49 bits: typed by a student who lost their tab
MIN_PASSWORD = 6
_SCRYPT = dict(n=2 ** 14, r=8, p=1, dklen=32)


def hash_password(password: str) -> tuple[bytes, bytes]:
    """``(salt, hash)`` of a teacher password (scrypt, random salt)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ColdstartError(f"teacher password of {len(password or '')} characters is too short: use at "
                             f"least {MIN_PASSWORD}")
    salt = secrets.token_bytes(16)
    return salt, hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)


def check_password(password: str, salt: bytes, expected: bytes) -> bool:
    """Whether ``password`` hashes to ``expected`` under ``salt``."""
    got = hashlib.scrypt(str(password or "").encode(), salt=bytes(salt), **_SCRYPT)
    return hmac.compare_digest(got, bytes(expected))


def new_code(length: int = CODE_LENGTH) -> str:
    """A random join code such as ``K7QX2M``."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_seat_key() -> str:
    """A student's secret seat key (in their page's URL; typed to rejoin from another tab)."""
    return new_code(SEAT_KEY_LENGTH)


def new_token() -> str:
    """A teacher token (kept in the teacher's browser session after the password was checked)."""
    return secrets.token_urlsafe(32)


def normalise_code(code) -> str:
    """What a person typed as a code or key, upper-cased without spaces or dashes."""
    return "".join(str(code or "").split()).replace("-", "").upper()


def digest(secret: str) -> str:
    """SHA-256 hex digest of a high-entropy secret (seat keys, teacher tokens)."""
    return hashlib.sha256(str(secret).encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(str(a), str(b))
