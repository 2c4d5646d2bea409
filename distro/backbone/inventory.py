"""Stock per location: reservations, releases and movements.

Every function here runs inside the caller's transaction and locks the stock rows it changes
in product-id order, so that two orders touching the same products never deadlock.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session, col, select

from distro.backbone.errors import InsufficientStockError
from distro.backbone.models import Product, Stock


def lock_stock(session: Session, warehouse_id: int, product_ids: list[int]) -> dict[int, Stock]:
    """Lock and return the stock rows of `product_ids` at `warehouse_id`, keyed by product id.

    Rows are locked in ascending product id (SELECT ... FOR UPDATE on PostgreSQL; SQLite
    serialises writers instead). Products with no stock row at the location are absent.
    """
    if not product_ids:
        return {}
    statement = (
        select(Stock)
        .where(Stock.warehouse_id == warehouse_id, col(Stock.product_id).in_(sorted(product_ids)))
        .order_by(col(Stock.product_id))
        .with_for_update()
    )
    return {row.product_id: row for row in session.exec(statement)}


def available(stock: Stock | None) -> int:
    """Return the units that can still be promised from a stock row (on hand minus reserved)."""
    if stock is None:
        return 0
    return stock.on_hand - stock.reserved


def find_shortfalls(
    rows: Mapping[int, Stock], quantities: Mapping[int, int], products: Mapping[int, Product]
) -> list[dict[str, int | str]]:
    """List each product whose available stock is below the requested quantity.

    Args:
        rows: Stock rows keyed by product id; a missing row means nothing available.
        quantities: Product id -> requested units.
        products: Product id -> product, for the SKU in each entry.

    Returns:
        `{"sku", "available", "requested"}` per short product, in product-id order.
    """
    shortfalls: list[dict[str, int | str]] = []
    for product_id in sorted(quantities):
        requested = quantities[product_id]
        free = available(rows.get(product_id))
        if free < requested:
            shortfalls.append(
                {"sku": products[product_id].sku, "available": max(free, 0), "requested": requested}
            )
    return shortfalls


def read_stock(session: Session, warehouse_id: int, product_ids: list[int]) -> dict[int, Stock]:
    """Return the stock rows of `product_ids` at `warehouse_id` without locking them."""
    if not product_ids:
        return {}
    statement = select(Stock).where(
        Stock.warehouse_id == warehouse_id, col(Stock.product_id).in_(sorted(product_ids))
    )
    return {row.product_id: row for row in session.exec(statement)}


def reserve(
    session: Session,
    warehouse_id: int,
    quantities: Mapping[int, int],
    products: Mapping[int, Product],
) -> None:
    """Reserve `quantities` (product id -> units) at `warehouse_id`, all or nothing.

    Raises:
        InsufficientStockError: when any product is short; `details["lines"]` lists every
            short product with its SKU, the units available and the units requested.
    """
    rows = lock_stock(session, warehouse_id, list(quantities))
    shortfalls = find_shortfalls(rows, quantities, products)

    if shortfalls:
        text = "; ".join(
            f"{s['sku']}: {s['available']} available, {s['requested']} requested" for s in shortfalls
        )
        raise InsufficientStockError(
            f"Not enough stock. {text}. Lower the quantity or order it for a later day.",
            warehouse_id=warehouse_id,
            lines=shortfalls,
        )

    for product_id, requested in quantities.items():
        rows[product_id].reserved += requested
        session.add(rows[product_id])


def release(session: Session, warehouse_id: int, quantities: Mapping[int, int]) -> None:
    """Release reservations of `quantities` (product id -> units), as when an order is cancelled."""
    rows = lock_stock(session, warehouse_id, list(quantities))
    for product_id, units in quantities.items():
        row = rows.get(product_id)
        if row is None:
            continue
        row.reserved = max(row.reserved - units, 0)
        session.add(row)


def ship(session: Session, warehouse_id: int, quantities: Mapping[int, int]) -> None:
    """Take delivered units out of stock: on hand and reserved both drop by the quantity."""
    rows = lock_stock(session, warehouse_id, list(quantities))
    for product_id, units in quantities.items():
        row = rows.get(product_id)
        if row is None:
            continue
        row.reserved = max(row.reserved - units, 0)
        row.on_hand = max(row.on_hand - units, 0)
        session.add(row)
