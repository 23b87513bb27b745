"""The console hashes passwords at OWASP's minimum for argon2id, whatever the other tests do to save time."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from api.auth import hash_password

pytestmark = pytest.mark.real_password_cost


def test_a_password_is_hashed_with_argon2id_at_19_mib_and_two_passes():
    hashed = hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), hashed
    assert PasswordHasher().verify(hashed, "correct horse battery staple")
