"""Quick-order parsing and SKU matching: typed lines, chat messages and CSV files."""

from __future__ import annotations

import pytest

from distro.backbone.quick_order import (
    CatalogEntry,
    match_lines,
    match_query,
    parse_csv,
    parse_line,
    parse_text,
)
from distro.demo import data

CATALOG = [
    CatalogEntry("SKU-104", "Cement CP-II 50kg bag"),
    CatalogEntry("SKU-105", "Cement CP-V 40kg bag"),
    CatalogEntry("SKU-201", "Wall paint white 18L"),
    CatalogEntry("SKU-202", "Wall paint white 3.6L"),
    CatalogEntry("SKU-300", "Steel nails 17x27 1kg box"),
    CatalogEntry("SKU-400", "PVC pipe 100mm 6m"),
]


@pytest.mark.parametrize(
    ("text", "query", "quantity"),
    [
        ("SKU-104 20", "SKU-104", 20),
        ("sku-104 x 20", "sku-104", 20),
        ("20 x cement 50kg", "cement 50kg", 20),
        ("Cement 50kg - 20 bags", "Cement 50kg", 20),
        ("3 boxes of steel nails", "steel nails", 3),
        ("pvc pipe 100mm: 12", "pvc pipe 100mm", 12),
        ("- wall paint white 18L, 5", "wall paint white 18L", 5),
        ("2. cement 50kg 4", "cement 50kg", 4),
        ("[12/03/2025, 10:15] Ana Souza: 6 x paint 3.6L", "paint 3.6L", 6),
        ("cement 50kg", "cement 50kg", None),
    ],
)
def test_parse_line_splits_query_and_quantity(text, query, quantity):
    line = parse_line(1, text)
    assert line.query == query
    assert line.quantity == quantity


def test_parse_text_skips_blank_lines():
    lines = parse_text("SKU-104 20\n\n   \nSKU-201 5\n")
    assert [line.line_number for line in lines] == [1, 4]


def test_match_query_exact_sku_ignores_case_and_dashes():
    best, certain, _ = match_query("sku 104", CATALOG)
    assert best.sku == "SKU-104"
    assert certain


def test_match_query_clear_name_is_certain():
    best, certain, candidates = match_query("cement 50kg", CATALOG)
    assert best.sku == "SKU-104"
    assert certain
    assert candidates[1].sku == "SKU-105"


def test_match_query_close_names_need_confirmation():
    """Two paints that differ only by size: the best guess is offered, not taken."""
    best, certain, candidates = match_query("paint 3.6", CATALOG)
    assert best.sku == "SKU-202"
    assert not certain
    assert {candidate.sku for candidate in candidates} >= {"SKU-201", "SKU-202"}


def test_match_query_unknown_product_has_no_match():
    best, certain, candidates = match_query("garden hose", CATALOG)
    assert best is None
    assert not certain
    assert candidates == ()


def test_match_lines_without_quantity_is_not_certain():
    matched = match_lines(parse_text("steel nails"), CATALOG)
    assert matched[0].sku == "SKU-300"
    assert matched[0].quantity is None
    assert not matched[0].certain


def test_match_lines_skips_chat_greetings():
    chat = "Hi\nGood morning!\nSKU-104 20\nthanks, see you\nsteel nails\ngarden hose 3"
    matched = match_lines(parse_text(chat), CATALOG)
    assert [line.line_number for line in matched] == [3, 5, 6]
    assert matched[2].sku is None


def test_match_lines_keeps_unknown_line_with_quantity():
    matched = match_lines(parse_text("garden hose 3"), CATALOG)
    assert len(matched) == 1
    assert matched[0].quantity == 3
    assert matched[0].sku is None


def test_match_lines_skips_chat_against_drinks_catalog():
    drinks = [
        CatalogEntry(f"SKU-{101 + index}", item.name) for index, item in enumerate(data.PRODUCTS)
    ]
    chat = "Hello\nGood morning\nthank you\nplease deliver before noon\n20 x cola 0.33 L can"
    matched = match_lines(parse_text(chat), drinks)
    assert [line.line_number for line in matched] == [5]
    assert matched[0].sku == "SKU-115"


def test_parse_csv_with_header_and_semicolons():
    lines = parse_csv("Product;Qty\nSKU-104;20\nWall paint white 18L;5\n")
    assert [(line.query, line.quantity) for line in lines] == [
        ("SKU-104", 20),
        ("Wall paint white 18L", 5),
    ]
    assert lines[0].line_number == 2


def test_parse_csv_without_header():
    lines = parse_csv("SKU-104,20\nSKU-201,x\n")
    assert [(line.query, line.quantity) for line in lines] == [("SKU-104", 20), ("SKU-201", None)]
