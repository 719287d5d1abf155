"""Helpers shared by tests (importable, unlike conftest)."""

from sandbox.keys import KeyPair, new_keypair

__all__ = ["KeyPair", "new_keypair"]
