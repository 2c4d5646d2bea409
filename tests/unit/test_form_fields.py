"""Reading submitted form text as numbers: accepted text, and messages for rejected text."""

from __future__ import annotations

from decimal import Decimal

import pytest

from distro.backbone.errors import ValidationError
from distro.state.forms import (
    form_cents,
    form_decimal,
    form_int,
    form_optional_id,
    format_cents,
)


def test_form_int_reads_digits():
    assert form_int({"pack_size": " 12 "}, "pack_size", "Pack size") == 12


def test_form_int_empty_gives_default():
    assert form_int({"pack_size": ""}, "pack_size", "Pack size", default=1) == 1


def test_form_int_rejects_decimal_text():
    with pytest.raises(ValidationError) as caught:
        form_int({"capacity_kg": "1.5"}, "capacity_kg", "Capacity (kg)")

    assert "Capacity (kg) '1.5' is not a whole number" in caught.value.message


def test_form_int_keeps_negative_for_backbone():
    """The sign is the backbone's rule to check, so the parser passes it on."""
    assert form_int({"capacity_kg": "-3"}, "capacity_kg", "Capacity (kg)") == -3


def test_form_optional_id_none_choice():
    assert form_optional_id({"vehicle_id": "none"}, "vehicle_id", "Vehicle") is None
    assert form_optional_id({}, "vehicle_id", "Vehicle") is None
    assert form_optional_id({"vehicle_id": "7"}, "vehicle_id", "Vehicle") == 7


def test_form_decimal_reads_comma():
    assert form_decimal({"weight_kg": "2,5"}, "weight_kg", "Weight (kg)") == Decimal("2.5")


@pytest.mark.parametrize("text", ["abc", "nan", "inf", ""])
def test_form_decimal_rejects_non_number(text):
    with pytest.raises(ValidationError) as caught:
        form_decimal({"weight_kg": text}, "weight_kg", "Weight (kg)")

    assert "is not a number" in caught.value.message


def test_form_cents_converts_currency_units():
    assert form_cents({"price": "12.5"}, "price", "Price") == 1250
    assert form_cents({"price": "0"}, "price", "Price") == 0


def test_form_cents_rejects_fraction_of_cent():
    with pytest.raises(ValidationError) as caught:
        form_cents({"price": "1.005"}, "price", "Price")

    assert "more than two decimals" in caught.value.message


def test_format_cents_two_decimals():
    assert format_cents(123_456) == "1234.56"
    assert format_cents(None) == ""
