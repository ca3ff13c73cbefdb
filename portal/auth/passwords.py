"""Passwords hashed with Argon2id; reset and invitation links as signed, expiring,
single-use tokens (the token names a fingerprint of the current password hash, so
it stops working once the password is set)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from portal.accounts.models import User
from portal.extensions import db

_hasher = PasswordHasher()
# Verified against when the address is unknown, so both answers take as long.
_DUMMY_HASH = _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    stored = user.password_hash if user is not None else None
    try:
        matches = _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and stored is not None


def _fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "unset").encode()).hexdigest()[:20]


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"portal-{purpose}")


def make_token(user: User, purpose: str) -> str:
    return _serializer(purpose).dumps([user.id, _fingerprint(user)])


def user_for_token(token: str, purpose: str, max_age: timedelta) -> User | None:
    try:
        user_id, fingerprint = _serializer(purpose).loads(
            token, max_age=int(max_age.total_seconds())
        )
    except (BadSignature, ValueError, TypeError):
        return None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active or _fingerprint(user) != fingerprint:
        return None
    return user
