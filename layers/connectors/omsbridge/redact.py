"""Card data never travels further than the last four digits of a card number."""

from __future__ import annotations

from typing import Any

# Commerce never should, but a payment module can put card data into the order it publishes: only
# the last four digits of a card number go any further (bus, DLQ, logs), verification codes not at all.
CARD_NUMBER_FIELDS = frozenset({"cc_number", "cc_number_enc", "card_number", "cc_ss_issue"})
CARD_SECRET_FIELDS = frozenset({"cc_cid", "cc_cid_enc", "cvv", "cvc", "cc_cvv"})


def redact_card_data(value: Any) -> Any:
    if isinstance(value, dict):
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            name = key.lower()
            if name in CARD_SECRET_FIELDS:
                continue
            if name in CARD_NUMBER_FIELDS and isinstance(item, str | int):
                digits = "".join(ch for ch in str(item) if ch.isdigit())
                cleaned[key] = f"xxxx-{digits[-4:]}" if digits else ""
                continue
            cleaned[key] = redact_card_data(item)
        return cleaned
    if isinstance(value, list):
        return [redact_card_data(item) for item in value]
    return value
