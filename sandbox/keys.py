"""RSA key pairs made at run time, for the demo and the tests: no key material is kept in git."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


@dataclass
class KeyPair:
    private: rsa.RSAPrivateKey

    @property
    def public_pem(self) -> str:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def sign(self, data: bytes) -> str:
        """base64 RSA-SHA256 PKCS#1 v1.5 signature, as Adobe sends it."""
        return base64.b64encode(self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()


def new_keypair() -> KeyPair:
    return KeyPair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
