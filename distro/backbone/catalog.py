"""Products, price tiers and the prices a dealer or customer pays."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam
from sqlmodel import Session, col, func, select

from distro.backbone.errors import NotFoundError
from distro.backbone.models import Dealer, Product, TierPrice


def products_by_sku(session: Session, skus: Iterable[str]) -> dict[str, Product]:
    """Return the products whose SKU is in `skus`, keyed by SKU (missing SKUs are absent)."""
    wanted = sorted({sku.strip().upper() for sku in skus})
    if not wanted:
        return {}
    rows = session.exec(select(Product).where(col(Product.sku).in_(wanted)))
    return {product.sku: product for product in rows}


def tier_prices(session: Session, tier_id: int, product_ids: Iterable[int]) -> dict[int, int]:
    """Return unit prices in cents of `product_ids` in tier `tier_id`, keyed by product id."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    statement = select(TierPrice).where(
        TierPrice.tier_id == tier_id, col(TierPrice.product_id).in_(ids)
    )
    return {price.product_id: price.unit_price_cents for price in session.exec(statement)}


# Built once: this runs on every order, and building a statement costs more than running it.
_PRICED_PRODUCTS = (
    select(Product, TierPrice.unit_price_cents)
    .outerjoin(
        TierPrice,
        (col(TierPrice.product_id) == col(Product.id))
        & (col(TierPrice.tier_id) == bindparam("tier_id")),
    )
    .where(col(Product.sku).in_(bindparam("skus", expanding=True)))
)


def priced_products(
    session: Session, skus: Iterable[str], tier_id: int
) -> dict[str, tuple[Product, int | None]]:
    """Return the products whose SKU is in `skus` with their unit price in tier `tier_id`.

    One query; the price is None for a product the tier does not sell. Missing SKUs are
    absent from the result.
    """
    wanted = sorted({sku.strip().upper() for sku in skus})
    if not wanted:
        return {}
    rows = session.exec(_PRICED_PRODUCTS, params={"tier_id": tier_id, "skus": wanted})
    return {product.sku: (product, price) for product, price in rows}


def retail_prices(session: Session, product_ids: Iterable[int]) -> dict[int, int]:
    """Return consumer prices in cents: the highest tier price of each product.

    NOTE: consumers pay the highest dealer tier price until products carry a separate
    retail price list.
    """
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    statement = (
        select(TierPrice.product_id, func.max(TierPrice.unit_price_cents))
        .where(col(TierPrice.product_id).in_(ids))
        .group_by(TierPrice.product_id)
    )
    return {product_id: price for product_id, price in session.exec(statement)}


def dealer_catalog(session: Session, dealer_id: int) -> list[tuple[Product, int]]:
    """Return every active product with its unit price in cents for the dealer's tier."""
    dealer = session.get(Dealer, dealer_id)
    if dealer is None:
        raise NotFoundError(f"Dealer {dealer_id} not found", dealer_id=dealer_id)
    statement = (
        select(Product, TierPrice.unit_price_cents)
        .join(TierPrice, col(TierPrice.product_id) == col(Product.id))
        .where(TierPrice.tier_id == dealer.tier_id, col(Product.active).is_(True))
        .order_by(col(Product.sku))
    )
    return [(product, price) for product, price in session.exec(statement)]


def retail_catalog(session: Session) -> list[tuple[Product, int]]:
    """Return every active product with its consumer price in cents (see `retail_prices`)."""
    products = list(
        session.exec(
            select(Product).where(col(Product.active).is_(True)).order_by(col(Product.sku))
        )
    )
    prices = retail_prices(session, [p.id for p in products])
    return [(product, prices[product.id]) for product in products if product.id in prices]
