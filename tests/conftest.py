"""Shared fixtures: a started sandbox, and test keys made at test time (no key material in git)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.stack import Sandbox
from tests.support import KeyPair, new_keypair


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as box:
        yield box


@pytest.fixture(scope="session")
def keypair() -> KeyPair:
    return new_keypair()


@pytest.fixture(scope="session")
def other_keypair() -> KeyPair:
    return new_keypair()
