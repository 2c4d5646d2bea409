"""Rows the customer's shop shows: products on offer and checked cart lines.

Plain dataclasses filled from backbone results; the order list, order lines and timeline
steps reuse the rows of the dealer's order desk (`distro.state.ordering_rows`).
"""

from __future__ import annotations

import dataclasses

from distro.backbone.cart import CartLineCheck
from distro.backbone.shop import ShopProduct
from distro.state.ordering_rows import money, round_to


@dataclasses.dataclass
class ProductRow:
    """One product in stock at the serving dealer, with the quantity the input starts at."""

    sku: str
    name: str
    pack_note: str
    price: str
    unit: str
    available: int
    start_quantity: int
    """The smallest quantity that meets the minimum and the pack size."""
    pack_size: int


@dataclasses.dataclass
class ShopCartRow:
    """One checked cart line as the shop's cart shows it."""

    sku: str
    name: str
    quantity: int
    unit_price: str
    line_total: str
    problem: str
    """The line's broken rules, each after the product's name; "" when the line is valid."""
    round_to: int
    """The nearest valid quantity when the line breaks the pack or minimum rule, else 0."""
    ok: bool


def pack_note(unit: str, pack_size: int, min_order_qty: int) -> str:
    """Describe how a product is sold, for example "per can · packs of 6 · min 12"."""
    parts = [f"per {unit}"]
    if pack_size > 1:
        parts.append(f"packs of {pack_size}")
    if min_order_qty > pack_size:
        parts.append(f"min {min_order_qty}")
    return " · ".join(parts)


def product_row(product: ShopProduct) -> ProductRow:
    """Turn a product on offer into a row with its price and starting quantity."""
    return ProductRow(
        sku=product.sku,
        name=product.name,
        pack_note=pack_note(product.unit, product.pack_size, product.min_order_qty),
        price=money(product.unit_price_cents),
        unit=product.unit,
        available=product.available,
        start_quantity=round_to(0, product.pack_size, product.min_order_qty) or product.pack_size,
        pack_size=product.pack_size,
    )


def shop_cart_row(line: CartLineCheck) -> ShopCartRow:
    """Turn a checked cart line into a row whose messages name the product, not its SKU.

    The backbone's messages start with "SKU: ", and customers see products by name only.
    """
    name = line.name or line.sku
    problem = "; ".join(f"{name}: {p['message'].split(': ', 1)[-1]}" for p in line.problems)
    known = bool(line.name)
    return ShopCartRow(
        sku=line.sku,
        name=line.name or f"{line.sku} (no longer sold)",
        quantity=line.quantity,
        unit_price=money(line.unit_price_cents),
        line_total=money(line.line_total_cents),
        problem=problem,
        round_to=round_to(line.quantity, line.pack_size, line.min_order_qty) if known else 0,
        ok=line.ok,
    )
