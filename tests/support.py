"""Helpers shared by tests (importable, unlike conftest)."""

from collections.abc import Callable

from sandbox.keys import KeyPair, new_keypair

# The ``configure`` fixture: ``configure(NAME="value", ...)`` sets settings for one test.
Configure = Callable[..., None]

__all__ = ["Configure", "KeyPair", "new_keypair"]
