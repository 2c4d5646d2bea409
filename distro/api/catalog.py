"""Catalog routes: products with the caller's prices."""

from __future__ import annotations

from fastapi import APIRouter, Path

from distro.api.auth import ActorDep, SessionDep
from distro.api.errors import AUTH_RESPONSES, NOT_FOUND_RESPONSE
from distro.api.schemas import CatalogItem
from distro.backbone import catalog
from distro.backbone.authz import deny, require_dealer
from distro.backbone.models import Product, Role

router = APIRouter(tags=["catalog"], responses=AUTH_RESPONSES)


def _items(rows: list[tuple[Product, int]]) -> list[CatalogItem]:
    return [
        CatalogItem(
            sku=p.sku,
            name=p.name,
            unit=p.unit,
            weight_kg=p.weight_kg,
            pack_size=p.pack_size,
            min_order_qty=p.min_order_qty,
            unit_price_cents=price,
        )
        for p, price in rows
    ]


@router.get("/catalog", response_model=list[CatalogItem])
def my_catalog(actor: ActorDep, session: SessionDep) -> list[CatalogItem]:
    """List active products at the caller's prices: its tier's, or consumer prices for customers."""
    if actor.role == Role.DEALER and actor.dealer_id is not None:
        return _items(catalog.dealer_catalog(session, actor.dealer_id))
    if actor.role == Role.CUSTOMER:
        return _items(catalog.retail_catalog(session))
    deny(
        actor,
        "GET /catalog",
        "Only dealers and customers have their own prices; use /dealers/{dealer_id}/catalog.",
    )


@router.get(
    "/dealers/{dealer_id}/catalog", response_model=list[CatalogItem], responses=NOT_FOUND_RESPONSE
)
def dealer_catalog(
    actor: ActorDep,
    session: SessionDep,
    dealer_id: int = Path(ge=1, le=2**31 - 1),
) -> list[CatalogItem]:
    """List active products at one dealer's tier prices (that dealer's staff and operations)."""
    require_dealer(actor, dealer_id)
    return _items(catalog.dealer_catalog(session, dealer_id))
