"""Shared fixtures: a started sandbox, and test keys made at test time (no key material in git)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from omsbridge import config
from sandbox.aws_local import prepare_botocore
from sandbox.stack import Sandbox
from tests.support import Configure, KeyPair, new_keypair


def pytest_configure() -> None:
    # Tests that run moto themselves make boto3 clients too, after every config.reset().
    prepare_botocore()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as box:
        yield box


@pytest.fixture
def configure(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    """Change settings for one test, as a new container with that configuration would have them.
    ``sb`` is the requesting module's sandbox fixture: it is up before the settings change."""

    def apply(**settings: str) -> None:
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        config.reset()

    yield apply
    monkeypatch.undo()
    config.reset()


@pytest.fixture(scope="session")
def keypair() -> KeyPair:
    return new_keypair()


@pytest.fixture(scope="session")
def other_keypair() -> KeyPair:
    return new_keypair()
