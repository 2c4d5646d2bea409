"""Fixtures for sign-in tests: fast Argon2 parameters and a network with one user per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from distro.backbone import accounts
from distro.backbone.models import Customer, Role
from distro.settings import reset_settings
from tests.factories import Network, build_network

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Use cheap Argon2 parameters so that tests that sign in often stay quick."""
    monkeypatch.setenv("DISTRO_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("DISTRO_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("DISTRO_ARGON2_PARALLELISM", "1")
    reset_settings()
    yield
    monkeypatch.undo()
    reset_settings()


@dataclass
class People:
    """A network with two tenants of each kind and one user per role and tenant."""

    network: Network
    customer_ids: list[int]
    usernames: dict[str, str]
    """Key such as "dealer0", "rider1", "dispatcher" -> username."""


def build_people(engine: Engine) -> People:
    """Create a network with two dealers, two customers, two riders and a user for each."""
    network = build_network(engine, dealers=2)
    with Session(engine, expire_on_commit=False) as session:
        customers = []
        for index, dealer_id in enumerate(network.dealer_ids):
            customer = Customer(
                name=f"Customer {index}", latitude=-22.9, longitude=-47.06, dealer_id=dealer_id
            )
            session.add(customer)
            session.flush()
            customers.append(customer.id)

        usernames = {}
        for index in range(2):
            for role, tenant in (
                (Role.DEALER, {"dealer_id": network.dealer_ids[index]}),
                (Role.CUSTOMER, {"customer_id": customers[index]}),
                (Role.RIDER, {"rider_id": network.rider_ids[index]}),
            ):
                name = f"{role}{index}"
                accounts.create_user(session, name, PASSWORD, role, **tenant)
                usernames[name] = name
        for role in (Role.DISPATCHER, Role.MANAGER, Role.ADMIN):
            accounts.create_user(session, str(role), PASSWORD, role)
            usernames[str(role)] = str(role)
        session.commit()
    return People(network, customers, usernames)


@pytest.fixture
def people(engine: Engine) -> People:
    """A network with users on the `engine` fixture's database."""
    return build_people(engine)


@dataclass
class Tenancy:
    """Per tenant index (0 and 1): an order of the dealer, an order of the customer, a route."""

    dealer_order_ids: list[int]
    customer_order_ids: list[int]
    route_ids: list[int]
    delivery_ids: list[int]
    """The dealer order's stop of each tenant, on that tenant's rider's published route."""


def place_tenant_orders(engine: Engine, people: People) -> Tenancy:
    """Place one dealer and one customer order per tenant and publish a route per rider.

    The route is written directly (no planner run): one plan, one published route for
    rider i with the stop of dealer i's order, status assigned.
    """
    from sqlmodel import select

    from distro.backbone.actors import SYSTEM
    from distro.backbone.models import (
        Dealer,
        Delivery,
        DeliveryStatus,
        Plan,
        PlanStatus,
        Route,
        RouteStatus,
    )
    from distro.backbone.orders import LineRequest, place_order
    from tests.factories import DAY

    with Session(engine, expire_on_commit=False) as session:
        dealer_orders, customer_orders, routes, deliveries = [], [], [], []
        for index, dealer_id in enumerate(people.network.dealer_ids):
            # Customers order from their dealer's own stock location.
            dealer = session.get(Dealer, dealer_id)
            dealer.stock_location_id = people.network.depot_id
            session.add(dealer)
            session.flush()
            order = place_order(
                session,
                SYSTEM,
                lines=[LineRequest("SKU-1", 2)],
                dealer_id=dealer_id,
                delivery_day=DAY,
            )
            customer_order = place_order(
                session,
                SYSTEM,
                lines=[LineRequest("SKU-1", 1)],
                customer_id=people.customer_ids[index],
                delivery_day=DAY,
            )
            session.flush()
            dealer_orders.append(order.id)
            customer_orders.append(customer_order.id)

            plan = Plan(day=DAY, depot_id=people.network.depot_id, status=PlanStatus.PUBLISHED)
            session.add(plan)
            session.flush()
            route = Route(
                plan_id=plan.id,
                day=DAY,
                depot_id=people.network.depot_id,
                vehicle_id=people.network.vehicle_ids[index],
                rider_id=people.network.rider_ids[index],
                status=RouteStatus.PUBLISHED,
            )
            session.add(route)
            session.flush()
            stop = session.exec(select(Delivery).where(Delivery.order_id == order.id)).one()
            stop.route_id = route.id
            stop.sequence = 1
            stop.status = DeliveryStatus.ASSIGNED
            session.add(stop)
            routes.append(route.id)
            deliveries.append(stop.id)
        session.commit()
    return Tenancy(dealer_orders, customer_orders, routes, deliveries)
