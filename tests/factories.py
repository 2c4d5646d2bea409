"""Builders of small, fully known networks for backbone tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session

from distro.backbone.models import (
    Dealer,
    PriceTier,
    Product,
    Rider,
    Shift,
    Stock,
    TierPrice,
    Vehicle,
    Warehouse,
)

DAY = date(2026, 12, 7)


@dataclass
class Network:
    """Ids of the records a test network holds."""

    depot_id: int
    tier_id: int
    dealer_ids: list[int]
    product_ids: dict[str, int]
    vehicle_ids: list[int]
    rider_ids: list[int]
    shift_ids: list[int]


def build_network(
    engine: Engine,
    *,
    dealers: int = 3,
    stock: int = 100,
    credit_limit_cents: int = 1_000_000,
    vehicles: tuple[tuple[int, int], ...] = ((500, 50), (500, 50)),
) -> Network:
    """Create a depot in Campinas, dealers around it, three products and riders on shift.

    Products: SKU-1 (2 kg, 10.00, pack 1, minimum 1), SKU-2 (5 kg, 25.00, pack 6, minimum 6),
    SKU-3 (1 kg, 3.50, pack 1, minimum 10). Every product has `stock` units at the depot.
    """
    with Session(engine, expire_on_commit=False) as session:
        depot = Warehouse(code="WH-1", name="Campinas plant", latitude=-22.9056, longitude=-47.0608)
        tier = PriceTier(code="gold", name="Gold")
        session.add_all([depot, tier])
        session.flush()

        specs = [("SKU-1", 2.0, 1000, 1, 1), ("SKU-2", 5.0, 2500, 6, 6), ("SKU-3", 1.0, 350, 1, 10)]
        products = {}
        for sku, weight, price, pack, minimum in specs:
            product = Product(sku=sku, name=f"Product {sku}", weight_kg=weight, pack_size=pack, min_order_qty=minimum)
            session.add(product)
            session.flush()
            session.add(TierPrice(tier_id=tier.id, product_id=product.id, unit_price_cents=price))
            session.add(Stock(warehouse_id=depot.id, product_id=product.id, on_hand=stock))
            products[sku] = product.id

        dealer_ids = []
        for index in range(dealers):
            dealer = Dealer(
                code=f"D-{index + 1:03d}",
                name=f"Dealer {index + 1}",
                tier_id=tier.id,
                credit_limit_cents=credit_limit_cents,
                latitude=-22.9056 + 0.02 * (index + 1),
                longitude=-47.0608 + 0.015 * ((index % 3) - 1),
                warehouse_id=depot.id,
            )
            session.add(dealer)
            session.flush()
            dealer_ids.append(dealer.id)

        vehicle_ids, rider_ids, shift_ids = [], [], []
        for index, (kg, units) in enumerate(vehicles):
            vehicle = Vehicle(code=f"V-{index + 1}", name=f"Van {index + 1}", capacity_kg=kg, capacity_units=units)
            rider = Rider(code=f"R-{index + 1}", name=f"Rider {index + 1}")
            session.add_all([vehicle, rider])
            session.flush()
            shift = Shift(rider_id=rider.id, vehicle_id=vehicle.id, depot_id=depot.id, day=DAY)
            session.add(shift)
            session.flush()
            vehicle_ids.append(vehicle.id)
            rider_ids.append(rider.id)
            shift_ids.append(shift.id)

        session.commit()
        return Network(depot.id, tier.id, dealer_ids, products, vehicle_ids, rider_ids, shift_ids)
