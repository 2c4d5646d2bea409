"""Stock per location: reservations, releases and movements.

Every function here runs inside the caller's transaction and locks the stock rows it changes
in product-id order, so that two orders touching the same products never deadlock.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from sqlalchemy import bindparam, case, update
from sqlmodel import Session, col, select

from distro.backbone.errors import InsufficientStockError
from distro.backbone.models import Product, Stock

_STOCK = Stock.__table__

# Built once, since reserving runs on every order.
_LOCK_AVAILABLE = (
    select(_STOCK.c.product_id, _STOCK.c.on_hand, _STOCK.c.reserved)
    .where(
        _STOCK.c.warehouse_id == bindparam("warehouse_id"),
        _STOCK.c.product_id.in_(bindparam("product_ids", expanding=True)),
    )
    .order_by(_STOCK.c.product_id)
    .with_for_update()
)


@lru_cache(maxsize=64)
def _reserve_statement(lines: int):
    """UPDATE that adds units p0->u0, p1->u1, ... to `reserved` at one location."""
    units = case(
        *[(_STOCK.c.product_id == bindparam(f"p{i}"), bindparam(f"u{i}")) for i in range(lines)]
    )
    return (
        update(_STOCK)
        .where(
            _STOCK.c.warehouse_id == bindparam("location"),
            _STOCK.c.product_id.in_([bindparam(f"p{i}") for i in range(lines)]),
        )
        .values(reserved=_STOCK.c.reserved + units)
    )


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
        # The rows are read under their locks, so refresh copies the session may hold already.
        .execution_options(populate_existing=True)
    )
    return {row.product_id: row for row in session.exec(statement)}


def available(stock) -> int:
    """Return the units a stock row can still promise (on hand minus reserved); 0 for None.

    Takes a Stock object or any row with `on_hand` and `reserved`.
    """
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
    # Plain rows rather than Stock objects: this runs on every order, so it reads and
    # writes with one statement each instead of loading and flushing an object per line.
    ids = sorted(quantities)
    locked = session.execute(_LOCK_AVAILABLE, {"warehouse_id": warehouse_id, "product_ids": ids})
    rows = {row.product_id: row for row in locked}
    shortfalls = find_shortfalls(rows, quantities, products)

    if shortfalls:
        text = "; ".join(
            f"{s['sku']}: {s['available']} available, {s['requested']} requested"
            for s in shortfalls
        )
        raise InsufficientStockError(
            f"Not enough stock. {text}. Lower the quantity or order it for a later day.",
            warehouse_id=warehouse_id,
            lines=shortfalls,
        )

    params: dict[str, int] = {"location": warehouse_id}
    for position, product_id in enumerate(ids):
        params[f"p{position}"] = product_id
        params[f"u{position}"] = quantities[product_id]
    session.execute(_reserve_statement(len(ids)), params)
    # NOTE: a Stock object this session loaded earlier keeps its old `reserved` until it is
    # refreshed; lock_stock refreshes the rows it locks.


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
