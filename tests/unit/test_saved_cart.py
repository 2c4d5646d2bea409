"""The dealer's cart as saved in the browser: encoding and the checks on reading it back."""

from __future__ import annotations

import json

import pytest

from distro.state.ordering import (
    MAX_CART_LINES,
    MAX_SAVED_CART_CHARS,
    decode_saved_cart,
    encode_saved_cart,
)
from distro.state.ordering_rows import CartItem


def test_saved_cart_round_trip():
    text = encode_saved_cart(7, [CartItem("SKU-101", 4), CartItem("SKU-115", 2)])
    assert decode_saved_cart(text, 7) == [("SKU-101", 4), ("SKU-115", 2)]


def test_saved_cart_other_dealer_is_ignored():
    text = encode_saved_cart(7, [CartItem("SKU-101", 4)])
    assert decode_saved_cart(text, 8) == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"dealer": "7", "lines": [["SKU-101", 4]]}',
        '{"dealer": 7, "lines": "SKU-101"}',
        "x" * (MAX_SAVED_CART_CHARS + 1),
    ],
)
def test_saved_cart_malformed_gives_empty_cart(text):
    assert decode_saved_cart(text, 7) == []


def test_saved_cart_keeps_only_sku_and_whole_quantity():
    lines = [["SKU-101", 4], ["SKU-102", "4"], ["SKU-103", 1.5], [5, 1], ["SKU-104", True]]
    lines += [["SKU-105", 2, 999], ["SKU-106", 3]]
    text = json.dumps({"dealer": 7, "lines": lines, "price": 1})
    assert decode_saved_cart(text, 7) == [("SKU-101", 4), ("SKU-106", 3)]


def test_saved_cart_reads_at_most_max_lines():
    lines = [[f"SKU-{number}", 1] for number in range(MAX_CART_LINES + 20)]
    text = json.dumps({"dealer": 7, "lines": lines}, separators=(",", ":"))
    assert len(decode_saved_cart(text, 7)) == MAX_CART_LINES
