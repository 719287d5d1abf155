"""Adobe I/O Events webhook deliveries: the RSA digital signatures and the challenge.

Adobe signs the raw body with RSA-SHA256 (PKCS#1 v1.5) under two keys and names each key's path
in a header; the public keys are served from one fixed Adobe host. A delivery is authentic when
either signature verifies. Keys are fetched only from that host and cached per container.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Mapping

KEY_HOST = "https://static.adobeioevents.com"
KEY_PATH = re.compile(r"^/(?:prod|stage)/keys/pub-key-[A-Za-z0-9_-]{1,80}\.pem$")
KEY_TTL_SECONDS = 24 * 3600

KeyFetcher = Callable[[str], bytes]


class SignatureError(Exception):
    """The delivery is not provably from Adobe I/O Events."""


def fetch_from_adobe(url: str) -> bytes:
    import httpx

    response = httpx.get(url, timeout=httpx.Timeout(3.0), follow_redirects=False)
    response.raise_for_status()
    return response.content


class KeyCache:
    def __init__(self, fetch: KeyFetcher = fetch_from_adobe) -> None:
        self.fetch = fetch
        self._keys: dict[str, tuple[float, bytes]] = {}

    def get(self, path: str) -> bytes:
        if not KEY_PATH.match(path):
            raise SignatureError(f"public key path not on Adobe's key host pattern: {path[:100]!r}")
        cached = self._keys.get(path)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            pem = self.fetch(KEY_HOST + path)
        except Exception as exc:
            raise SignatureError(f"public key could not be fetched: {type(exc).__name__}") from exc
        self._keys[path] = (time.monotonic() + KEY_TTL_SECONDS, pem)
        return pem


keys = KeyCache()


def verify(raw_body: bytes, headers: Mapping[str, str], cache: KeyCache | None = None) -> None:
    """Raise ``SignatureError`` unless signature 1 or 2 verifies over the raw body."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    cache = cache or keys
    pairs = [
        (headers.get(f"x-adobe-digital-signature-{n}"), headers.get(f"x-adobe-public-key{n}-path"))
        for n in (1, 2)
    ]
    present = [(sig, path) for sig, path in pairs if sig and path]
    if not present:
        raise SignatureError("missing x-adobe-digital-signature / x-adobe-public-key-path headers")
    problems: list[str] = []
    for signature, path in present:
        try:
            key = load_pem_public_key(cache.get(path))
            if not isinstance(key, rsa.RSAPublicKey):
                raise SignatureError("public key is not RSA")
            key.verify(base64.b64decode(signature, validate=True), raw_body, padding.PKCS1v15(), hashes.SHA256())
        except (SignatureError, InvalidSignature, ValueError) as exc:
            problems.append(str(exc) or type(exc).__name__)
            continue
        return
    raise SignatureError("signature does not verify: " + "; ".join(problems))
