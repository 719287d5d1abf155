"""OAuth 1.0a verification as Commerce does it for integrations (HMAC-SHA256, header form).

Deliberately not the client's library: the base string comes from authlib's RFC 5849 helpers and
the HMAC from the standard library, so a shared bug in one signer cannot make both sides agree.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qsl
from urllib.request import parse_http_list, parse_keqv_list

from authlib.oauth1.rfc5849.signature import construct_base_string
from authlib.oauth1.rfc5849.util import escape, unescape

# Commerce accepts a timestamp this far from its own clock (Magento's nonce generator: 600 s).
TIMESTAMP_WINDOW = 600


class OAuth1Verifier:
    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.consumer_key = consumer_key
        self.access_token = access_token
        self._key = f"{escape(consumer_secret)}&{escape(access_token_secret)}".encode()
        self.clock = clock
        self._nonces: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def verify(self, method: str, url: str, raw_query: str, authorization: str) -> str | None:
        """``None`` when the request is properly signed, else why not."""
        if not authorization.lower().startswith("oauth "):
            return "no OAuth authorization header"
        try:
            fields = parse_keqv_list(parse_http_list(authorization[len("oauth "):]))
        except ValueError:
            return "malformed OAuth header"
        oauth = {name: unescape(value) for name, value in fields.items()}
        if oauth.get("oauth_signature_method") != "HMAC-SHA256":
            return f"signature method {oauth.get('oauth_signature_method')!r} is not HMAC-SHA256"
        if oauth.get("oauth_version", "1.0") != "1.0":
            return "oauth_version is not 1.0"
        if oauth.get("oauth_consumer_key") != self.consumer_key:
            return "unknown consumer key"
        if oauth.get("oauth_token") != self.access_token:
            return "unknown access token"
        nonce = oauth.get("oauth_nonce", "")
        stamp = oauth.get("oauth_timestamp", "")
        if not nonce:
            return "oauth_nonce missing"
        if not stamp.isdigit() or abs(int(stamp) - self.clock()) > TIMESTAMP_WINDOW:
            return "oauth_timestamp outside the accepted window"
        params = parse_qsl(raw_query, keep_blank_values=True) + list(fields.items())
        base = construct_base_string(method, url, params)
        expected = base64.b64encode(hmac.new(self._key, base.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, oauth.get("oauth_signature", "")):
            return "signature mismatch"
        with self._lock:
            seen = (self.consumer_key, nonce)
            if seen in self._nonces:
                return "nonce already used"
            self._nonces.add(seen)
        return None
