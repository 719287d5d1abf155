"""Card data never travels further than the last four digits of a card number.

Commerce never should, but a payment module can put card data into what it publishes, under any
name and anywhere: only the last four digits of a card number go further (bus, archive, DLQ, logs),
verification codes not at all. Two nets:

* by name: the fields payment modules keep card numbers and codes in, however they are cased or
  separated (``cc_number``, ``ccNumber``, ``CardNumber``, ``CreditCardNo``, ``cvv``, ...);
* by shape, in every other string and number of the document, at any depth, in lists too: 13 to 19
  digits (alone or grouped by single spaces or dashes) with a card scheme's leading digits (3-6,
  the banking ranges of ISO/IEC 7812, or Mastercard's 2221-2720) and a valid Luhn check digit.

Values of identifier fields (a SKU, a tracking number, an order or Sterling key) are left as they
are: an EAN-13 SKU or a 15-digit tracking number can pass the Luhn check by chance, and cutting it
would lose the order's data. Card numbers are never stored under those names.
"""

from __future__ import annotations

import re
from typing import Any

CARD_NUMBER_FIELDS = frozenset({
    "ccnumber", "ccnumberenc", "ccno", "cardnumber", "cardno", "creditcardnumber", "creditcardno", "ccssissue", "pan",
})
CARD_SECRET_FIELDS = frozenset({
    "cccid", "cccidenc", "cvv", "cvv2", "cvc", "cvc2", "cccvv", "cvn", "securitycode", "cardsecuritycode",
})
IDENTIFIER_FIELDS = frozenset({"sku", "barcode", "gtin", "ean", "upc", "tracking", "trackingnumber", "tracknumber"})
IDENTIFIER_SUFFIXES = ("id", "key", "no")

_CANDIDATE = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")


def _normalised(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _scheme_prefix(digits: str) -> bool:
    """The leading digits of a payment card: 3-6, or Mastercard's 2221-2720 (a Sterling key or a
    timestamp starts 20..)."""
    return digits[0] in "3456" or 2221 <= int(digits[:4]) <= 2720


def is_card_number(text: str) -> bool:
    digits = "".join(ch for ch in text if ch.isdigit())
    return 13 <= len(digits) <= 19 and _scheme_prefix(digits) and luhn_ok(digits)


def last_four(value: Any) -> str:
    digits = "".join(ch for ch in str(value) if ch.isdigit())
    return f"xxxx-{digits[-4:]}" if digits else ""


def _masked_text(text: str) -> str:
    return _CANDIDATE.sub(lambda match: last_four(match[0]) if is_card_number(match[0]) else match[0], text)


def _is_identifier(name: str) -> bool:
    return name in IDENTIFIER_FIELDS or name.endswith(IDENTIFIER_SUFFIXES)


def redact_card_data(value: Any, field: str = "") -> Any:
    """``value`` with every card number cut to its last four digits and every verification code
    dropped. ``field`` is the (normalised) name ``value`` is kept under."""
    if isinstance(value, dict):
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            name = _normalised(str(key))
            if name in CARD_SECRET_FIELDS:
                continue
            if name in CARD_NUMBER_FIELDS and isinstance(item, str | int) and not isinstance(item, bool):
                cleaned[key] = last_four(item)
                continue
            cleaned[key] = redact_card_data(item, name)
        return cleaned
    if isinstance(value, list):
        return [redact_card_data(item, field) for item in value]
    if _is_identifier(field):
        return value
    if isinstance(value, str):
        return _masked_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and is_card_number(str(value)):
        return last_four(value)
    return value
