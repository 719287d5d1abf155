"""Card numbers are cut to their last four digits wherever they are and whatever they are called;
verification codes are dropped; identifiers that happen to look like card numbers are kept."""

from __future__ import annotations

from typing import Any

import pytest

from omsbridge.redact import is_card_number, redact_card_data

VISA = "4111111111111111"
AMEX = "378282246310005"
MASTERCARD_2 = "2223003122003222"
LUHN_EAN = "4006381333932"  # 13 digits, a card scheme's first digit and a valid Luhn digit: a SKU all the same
LUHN_TRACKING = "612995995812345"


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param({"cc_number": VISA}, {"cc_number": "xxxx-1111"}, id="commerce-field"),
    pytest.param({"ccNumber": VISA}, {"ccNumber": "xxxx-1111"}, id="camel-case-field"),
    pytest.param({"CardNumber": "4111 1111 1111 1111"}, {"CardNumber": "xxxx-1111"}, id="pascal-case-field"),
    pytest.param({"CreditCardNo": "not a number"}, {"CreditCardNo": ""}, id="sterling-field-whatever-it-holds"),
    pytest.param({"card_no": VISA, "ccNo": AMEX}, {"card_no": "xxxx-1111", "ccNo": "xxxx-0005"},
                 id="card-no-is-no-identifier"),
    pytest.param({"additional_information": {"method_title": "Card", "raw": f"PAN={VISA};exp=12/29"}},
                 {"additional_information": {"method_title": "Card", "raw": "PAN=xxxx-1111;exp=12/29"}},
                 id="inside-text-of-additional-information"),
    pytest.param({"additional_information": [VISA, "auth ok"]},
                 {"additional_information": ["xxxx-1111", "auth ok"]}, id="in-a-list"),
    pytest.param({"items": [{"notes": [{"text": f"card {AMEX} declined"}]}]},
                 {"items": [{"notes": [{"text": "card xxxx-0005 declined"}]}]}, id="deep-in-lists"),
    pytest.param({"x": int(VISA)}, {"x": "xxxx-1111"}, id="as-a-json-number"),
    pytest.param({"x": "4111-1111-1111-1111"}, {"x": "xxxx-1111"}, id="dashed"),
    pytest.param({"x": MASTERCARD_2}, {"x": "xxxx-3222"}, id="mastercard-2-series"),
    pytest.param({"x": "4111111111111112"}, {"x": "4111111111111112"}, id="luhn-fails-kept"),
    pytest.param({"x": "20240502140510127"}, {"x": "20240502140510127"}, id="timestamp-like-kept"),
    pytest.param({"x": "41111111111111111111"}, {"x": "41111111111111111111"}, id="twenty-digits-kept"),
    pytest.param({"x": "phone 4155550100"}, {"x": "phone 4155550100"}, id="short-number-kept"),
    pytest.param({"cc_cid": "123", "payment": {"CVV": "999", "cvc2": 1, "SecurityCode": "7"}, "cc_last_4": "1111"},
                 {"payment": {}, "cc_last_4": "1111"}, id="verification-codes-dropped-anywhere"),
    pytest.param({"sku": LUHN_EAN, "ItemID": LUHN_EAN, "TrackingNo": LUHN_TRACKING, "tracking_number": LUHN_TRACKING,
                  "OrderHeaderKey": "4111111111111111", "last_trans_id": VISA},
                 {"sku": LUHN_EAN, "ItemID": LUHN_EAN, "TrackingNo": LUHN_TRACKING, "tracking_number": LUHN_TRACKING,
                  "OrderHeaderKey": "4111111111111111", "last_trans_id": VISA}, id="identifiers-kept"),
    pytest.param({"Containers": {"Container": [{"TrackingNo": LUHN_TRACKING}]}},
                 {"Containers": {"Container": [{"TrackingNo": LUHN_TRACKING}]}}, id="identifiers-in-lists-kept"),
    pytest.param({"flag": True, "n": 3, "f": 1.5, "none": None}, {"flag": True, "n": 3, "f": 1.5, "none": None},
                 id="other-values-untouched"),
])
def test_redaction(value: Any, expected: Any) -> None:
    assert redact_card_data(value) == expected


@pytest.mark.parametrize(("text", "card"), [
    (VISA, True), (AMEX, True), (MASTERCARD_2, True), ("6011111111111117", True), ("5555555555554444", True),
    ("4111111111111112", False), ("1111111111111117", False), ("2000000000000008", False), ("411111111111", False),
])
def test_card_shape(text: str, card: bool) -> None:
    assert is_card_number(text) is card
