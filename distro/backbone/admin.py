"""Master data that admins maintain: dealers' terms, products, price tiers, riders and vehicles.

Every function requires the admin role. Every change checks all of its input before it
writes anything, and records one event with the values before and after, so the event log
shows who changed a dealer's credit limit or a price, and when. Users and API tokens live in
`backbone.accounts`.

Codes and SKUs are fixed once created, because orders, imports and API clients refer to
them. To replace one, create a new record and deactivate the old one.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import true
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, func, or_, select

from distro.backbone.actors import Actor
from distro.backbone.authz import require_role
from distro.backbone.errors import NotFoundError, ValidationError
from distro.backbone.events import record_event
from distro.backbone.models import Dealer, PriceTier, Product, Rider, Role, TierPrice, Vehicle

logger = logging.getLogger(__name__)

ADMIN_ROLES = (Role.ADMIN, Role.SYSTEM)

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 200
"""Largest page a list function returns, whatever the caller asks for."""

RecordT = TypeVar("RecordT", bound=SQLModel)


@dataclass(frozen=True)
class Page(Generic[RecordT]):
    """One page of a list, with the number of records that match in all pages."""

    items: list[RecordT]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class ProductSpec:
    """The fields of a product that an admin sets; weight in kg per sales unit."""

    sku: str
    name: str
    unit: str = "unit"
    weight_kg: float = 0.0
    pack_size: int = 1
    min_order_qty: int = 1


@dataclass(frozen=True)
class VehicleSpec:
    """The fields of a vehicle that an admin sets; capacities in kg and units, costs in cents."""

    code: str
    name: str
    capacity_kg: int
    capacity_units: int
    cost_per_km_cents: int = 0
    cost_per_day_cents: int = 0


@dataclass(frozen=True)
class RiderSpec:
    """The fields of a rider that an admin sets; `vehicle_id` is the default vehicle."""

    code: str
    name: str
    phone: str = ""
    vehicle_id: int | None = None


def _require_admin(actor: Actor, target: str) -> None:
    require_role(actor, *ADMIN_ROLES, target=target)


def _get(session: Session, model: type[RecordT], record_id: int, label: str) -> RecordT:
    record = session.get(model, record_id)
    if record is None:
        key = f"{label.lower().replace(' ', '_')}_id"
        raise NotFoundError(f"{label} {record_id} not found; reload the page.", **{key: record_id})
    return record


def _page_bounds(offset: int, limit: int) -> tuple[int, int]:
    return max(0, offset), min(max(1, limit), MAX_PAGE_SIZE)


def _search_pattern(search: str) -> str:
    # Escape LIKE wildcards so that a search for "50%" matches those characters literally.
    escaped = search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _paginate(session: Session, statement, count_statement, offset: int, limit: int) -> Page:
    offset, limit = _page_bounds(offset, limit)
    total = session.exec(count_statement).one()
    items = list(session.exec(statement.offset(offset).limit(limit)))
    return Page(items=items, total=total, offset=offset, limit=limit)


def _check_text(value: str, label: str, max_length: int, example: str) -> str:
    text = value.strip()
    if not text:
        raise ValidationError(f"{label} is missing; type one, such as {example}.", field=label)
    if len(text) > max_length:
        raise ValidationError(
            f"{label} {text[:20]!r}... has {len(text)} characters; shorten it to {max_length}.",
            field=label,
        )
    return text


def _check_minimum(value: float, label: str, minimum: int, fix: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"{label} {value} is not a number; {fix}.", field=label)
    if value < minimum:
        raise ValidationError(f"{label} {value} is below {minimum}; {fix}.", field=label)


def _apply(record: SQLModel, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set the fields of `record` that differ from `values` and return their (before, after)."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for field, value in values.items():
        if getattr(record, field) != value:
            before[field], after[field] = getattr(record, field), value
            setattr(record, field, value)
    return before, after


def _flush_new(session: Session, record: SQLModel, duplicate_message: str) -> None:
    """Insert `record`, raising ValidationError when a concurrent insert took its unique key."""
    session.add(record)
    try:
        session.flush()
    except IntegrityError as error:
        # The caller's transaction is unusable after this and is rolled back when it ends.
        raise ValidationError(duplicate_message) from error


def _set_active(
    session: Session,
    actor: Actor,
    model: type[RecordT],
    record_id: int,
    active: bool,
    entity: str,
) -> RecordT:
    label = entity.replace("_", " ").capitalize()
    _require_admin(actor, f"{entity} {record_id}")
    record = _get(session, model, record_id, label)
    if record.active != active:
        record.active = active
        session.add(record)
        state = ("inactive", "active") if active else ("active", "inactive")
        record_event(
            session,
            actor,
            entity,
            record_id,
            f"{entity}_{'activated' if active else 'deactivated'}",
            from_state=state[0],
            to_state=state[1],
        )
        logger.info("%s %s set %s by %s", label, record_id, state[1], actor.username)
    return record


def list_dealers(
    session: Session,
    actor: Actor,
    *,
    search: str = "",
    offset: int = 0,
    limit: int = DEFAULT_PAGE_SIZE,
) -> Page[Dealer]:
    """Return one page of dealers ordered by code.

    Args:
        session: An open database session.
        actor: The admin asking.
        search: Text that the code, name, town or territory contains (case-insensitive).
        offset: Number of matching dealers to skip.
        limit: Page size, capped at `MAX_PAGE_SIZE`.
    """
    _require_admin(actor, "dealer list")
    condition = true()
    if search.strip():
        pattern = _search_pattern(search)
        condition = or_(
            *(
                col(column).ilike(pattern, escape="\\")
                for column in (Dealer.code, Dealer.name, Dealer.town, Dealer.territory)
            )
        )
    statement = select(Dealer).where(condition).order_by(col(Dealer.code))
    count = select(func.count()).select_from(Dealer).where(condition)
    return _paginate(session, statement, count, offset, limit)


def update_dealer_terms(
    session: Session,
    actor: Actor,
    dealer_id: int,
    *,
    tier_id: int | None = None,
    credit_limit_cents: int | None = None,
    territory: str | None = None,
) -> Dealer:
    """Change a dealer's price tier, credit limit or territory; None leaves a field as it is.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        NotFoundError: no such dealer or tier.
        ValidationError: a negative credit limit or a territory over 80 characters.
    """
    _require_admin(actor, f"dealer {dealer_id}")
    dealer = _get(session, Dealer, dealer_id, "Dealer")
    values: dict[str, Any] = {}

    if tier_id is not None:
        _get(session, PriceTier, tier_id, "Price tier")
        values["tier_id"] = tier_id
    if credit_limit_cents is not None:
        if credit_limit_cents < 0:
            raise ValidationError(
                f"Credit limit {credit_limit_cents / 100:.2f} is negative; give 0 or more.",
                field="credit_limit",
            )
        values["credit_limit_cents"] = credit_limit_cents
    if territory is not None:
        territory = territory.strip()
        if len(territory) > 80:
            raise ValidationError(
                f"Territory {territory[:20]!r}... has {len(territory)} characters; "
                "shorten it to 80.",
                field="territory",
            )
        values["territory"] = territory

    before, after = _apply(dealer, values)
    if after:
        session.add(dealer)
        record_event(
            session,
            actor,
            "dealer",
            dealer.id,
            "dealer_terms_changed",
            payload={"before": before, "after": after},
        )
        logger.info("Dealer %s terms changed by %s: %s", dealer.code, actor.username, sorted(after))
    return dealer


def set_dealer_active(session: Session, actor: Actor, dealer_id: int, active: bool) -> Dealer:
    """Activate or deactivate a dealer. An inactive dealer cannot place orders.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        NotFoundError: no such dealer.
    """
    return _set_active(session, actor, Dealer, dealer_id, active, "dealer")


def list_price_tiers(session: Session, actor: Actor) -> list[PriceTier]:
    """Return up to `MAX_PAGE_SIZE` price tiers ordered by code."""
    _require_admin(actor, "price tiers")
    statement = select(PriceTier).order_by(col(PriceTier.code)).limit(MAX_PAGE_SIZE)
    return list(session.exec(statement))


def create_price_tier(session: Session, actor: Actor, code: str, name: str) -> PriceTier:
    """Add a price tier with a unique code, stored in lower case.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        ValidationError: an empty, long or taken code, or a long name.
    """
    _require_admin(actor, "price tiers")
    code = _check_text(code, "Tier code", 20, "gold").lower()
    name = name.strip() or code
    if len(name) > 100:
        raise ValidationError(
            f"Tier name has {len(name)} characters; shorten it to 100.", field="name"
        )
    if session.exec(select(PriceTier.id).where(PriceTier.code == code)).first() is not None:
        raise ValidationError(
            f"Tier code {code!r} is already used; choose another code.", field="code"
        )

    tier = PriceTier(code=code, name=name)
    _flush_new(session, tier, f"Tier code {code!r} is already used; choose another code.")
    record_event(
        session, actor, "price_tier", tier.id, "price_tier_created", payload={"code": code}
    )
    logger.info("Price tier %s created by %s", code, actor.username)
    return tier


def tier_prices(
    session: Session, actor: Actor, tier_id: int, product_ids: list[int]
) -> dict[int, int]:
    """Return {product id: unit price in cents} in a tier for those of `product_ids` it prices."""
    _require_admin(actor, f"prices of tier {tier_id}")
    if not product_ids:
        return {}
    rows = session.exec(
        select(TierPrice.product_id, TierPrice.unit_price_cents).where(
            TierPrice.tier_id == tier_id, col(TierPrice.product_id).in_(product_ids)
        )
    ).all()
    return dict(rows)


def set_tier_price(
    session: Session, actor: Actor, tier_id: int, product_id: int, unit_price_cents: int
) -> TierPrice:
    """Set the unit price of a product in a tier, creating the price if it is new.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        NotFoundError: no such tier or product.
        ValidationError: a negative price.
    """
    _require_admin(actor, f"price of product {product_id} in tier {tier_id}")
    if unit_price_cents < 0:
        raise ValidationError(
            f"Price {unit_price_cents / 100:.2f} is negative; give 0 or more.", field="price"
        )
    tier = _get(session, PriceTier, tier_id, "Price tier")
    product = _get(session, Product, product_id, "Product")
    price = session.exec(
        select(TierPrice).where(TierPrice.tier_id == tier_id, TierPrice.product_id == product_id)
    ).first()
    old = price.unit_price_cents if price else None
    if old == unit_price_cents:
        return price

    if price is None:
        price = TierPrice(tier_id=tier_id, product_id=product_id, unit_price_cents=unit_price_cents)
    price.unit_price_cents = unit_price_cents
    session.add(price)
    session.flush()
    record_event(
        session,
        actor,
        "tier_price",
        price.id,
        "tier_price_set",
        payload={
            "tier_id": tier_id,
            "product_id": product_id,
            "before": old,
            "after": unit_price_cents,
        },
    )
    logger.info(
        "Price of %s in tier %s set to %d cents by %s",
        product.sku,
        tier.code,
        unit_price_cents,
        actor.username,
    )
    return price


def list_products(
    session: Session,
    actor: Actor,
    *,
    search: str = "",
    offset: int = 0,
    limit: int = DEFAULT_PAGE_SIZE,
) -> Page[Product]:
    """Return one page of products, active or not, ordered by SKU.

    Args:
        session: An open database session.
        actor: The admin asking.
        search: Text that the SKU or name contains (case-insensitive).
        offset: Number of matching products to skip.
        limit: Page size, capped at `MAX_PAGE_SIZE`.
    """
    _require_admin(actor, "product list")
    condition = true()
    if search.strip():
        pattern = _search_pattern(search)
        condition = or_(
            col(Product.sku).ilike(pattern, escape="\\"),
            col(Product.name).ilike(pattern, escape="\\"),
        )
    statement = select(Product).where(condition).order_by(col(Product.sku))
    count = select(func.count()).select_from(Product).where(condition)
    return _paginate(session, statement, count, offset, limit)


def _product_values(spec: ProductSpec) -> dict[str, Any]:
    """Check a product's fields and return them ready to store."""
    values = {
        "name": _check_text(spec.name, "Product name", 200, "Cola 2 L, case of 6"),
        "unit": _check_text(spec.unit, "Unit", 20, "case"),
        "weight_kg": float(spec.weight_kg),
        "pack_size": int(spec.pack_size),
        "min_order_qty": int(spec.min_order_qty),
    }
    _check_minimum(values["weight_kg"], "Weight (kg)", 0, "give the weight of one unit, 0 or more")
    _check_minimum(
        values["pack_size"], "Pack size", 1, "give how many units are sold together, 1 or more"
    )
    _check_minimum(
        values["min_order_qty"], "Minimum order quantity", 1, "give the fewest units, 1 or more"
    )
    return values


def create_product(session: Session, actor: Actor, spec: ProductSpec) -> Product:
    """Add an active product with a new SKU, stored in upper case.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        ValidationError: a missing or taken SKU, a missing name or unit, a negative weight,
            or a pack size or minimum order quantity below 1.
    """
    _require_admin(actor, f"product {spec.sku}")
    sku = _check_text(spec.sku, "SKU", 40, "SKU-101").upper()
    values = _product_values(spec)
    existing = session.exec(select(Product).where(Product.sku == sku)).first()
    if existing is not None:
        raise ValidationError(
            f"SKU {sku} is already used by {existing.name!r}; choose another SKU, "
            "or edit that product.",
            field="sku",
            product_id=existing.id,
        )

    product = Product(sku=sku, **values)
    _flush_new(session, product, f"SKU {sku} is already used; choose another SKU.")
    record_event(
        session, actor, "product", product.id, "product_created", payload={"sku": sku, **values}
    )
    logger.info("Product %s created by %s", sku, actor.username)
    return product


def update_product(session: Session, actor: Actor, product_id: int, spec: ProductSpec) -> Product:
    """Change a product's name, unit, weight, pack size and minimum order quantity.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        NotFoundError: no such product.
        ValidationError: `spec.sku` differs from the product's SKU, or a field breaks the
            rules of `create_product`.
    """
    _require_admin(actor, f"product {product_id}")
    product = _get(session, Product, product_id, "Product")
    if spec.sku.strip().upper() != product.sku:
        raise ValidationError(
            f"SKU {product.sku} cannot change to {spec.sku.strip()!r}; create a new product "
            "and deactivate this one.",
            field="sku",
        )
    before, after = _apply(product, _product_values(spec))
    if after:
        session.add(product)
        record_event(
            session,
            actor,
            "product",
            product.id,
            "product_changed",
            payload={"before": before, "after": after},
        )
        logger.info("Product %s changed by %s: %s", product.sku, actor.username, sorted(after))
    return product


def set_product_active(session: Session, actor: Actor, product_id: int, active: bool) -> Product:
    """Activate or deactivate a product. Catalogs and new orders leave out inactive products.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        NotFoundError: no such product.
    """
    return _set_active(session, actor, Product, product_id, active, "product")


def list_vehicles(session: Session, actor: Actor) -> list[Vehicle]:
    """Return up to `MAX_PAGE_SIZE` vehicles, active or not, ordered by code."""
    _require_admin(actor, "vehicle list")
    statement = select(Vehicle).order_by(col(Vehicle.code)).limit(MAX_PAGE_SIZE)
    return list(session.exec(statement))


def _vehicle_values(spec: VehicleSpec) -> dict[str, Any]:
    """Check a vehicle's fields and return them ready to store."""
    values = {
        "name": _check_text(spec.name, "Vehicle name", 100, "Van 3.5 t"),
        "capacity_kg": int(spec.capacity_kg),
        "capacity_units": int(spec.capacity_units),
        "cost_per_km_cents": int(spec.cost_per_km_cents),
        "cost_per_day_cents": int(spec.cost_per_day_cents),
    }
    _check_minimum(values["capacity_kg"], "Capacity (kg)", 0, "give the payload in kg, 0 or more")
    _check_minimum(
        values["capacity_units"], "Capacity (units)", 0, "give the units it carries, 0 or more"
    )
    for field, label in (
        ("cost_per_km_cents", "Cost per km"),
        ("cost_per_day_cents", "Cost per day"),
    ):
        if values[field] < 0:
            raise ValidationError(
                f"{label} {values[field] / 100:.2f} is negative; give 0 or more.", field=field
            )
    return values


def create_vehicle(session: Session, actor: Actor, spec: VehicleSpec) -> Vehicle:
    """Add an active vehicle with a new code.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        ValidationError: a missing or taken code, a missing name, a negative capacity or
            a negative cost.
    """
    _require_admin(actor, f"vehicle {spec.code}")
    code = _check_text(spec.code, "Vehicle code", 40, "V-24")
    values = _vehicle_values(spec)
    existing = session.exec(select(Vehicle).where(Vehicle.code == code)).first()
    if existing is not None:
        raise ValidationError(
            f"Vehicle code {code} is already used by {existing.name!r}; choose another code, "
            "or edit that vehicle.",
            field="code",
            vehicle_id=existing.id,
        )

    vehicle = Vehicle(code=code, **values)
    _flush_new(session, vehicle, f"Vehicle code {code} is already used; choose another code.")
    record_event(
        session, actor, "vehicle", vehicle.id, "vehicle_created", payload={"code": code, **values}
    )
    logger.info("Vehicle %s created by %s", code, actor.username)
    return vehicle


def update_vehicle(session: Session, actor: Actor, vehicle_id: int, spec: VehicleSpec) -> Vehicle:
    """Change a vehicle's name, capacities and costs.

    Routes already planned keep the capacity they were planned with.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        NotFoundError: no such vehicle.
        ValidationError: `spec.code` differs from the vehicle's code, or a field breaks the
            rules of `create_vehicle`.
    """
    _require_admin(actor, f"vehicle {vehicle_id}")
    vehicle = _get(session, Vehicle, vehicle_id, "Vehicle")
    if spec.code.strip() != vehicle.code:
        raise ValidationError(
            f"Vehicle code {vehicle.code} cannot change to {spec.code.strip()!r}; create a new "
            "vehicle and deactivate this one.",
            field="code",
        )
    before, after = _apply(vehicle, _vehicle_values(spec))
    if after:
        session.add(vehicle)
        record_event(
            session,
            actor,
            "vehicle",
            vehicle.id,
            "vehicle_changed",
            payload={"before": before, "after": after},
        )
        logger.info("Vehicle %s changed by %s: %s", vehicle.code, actor.username, sorted(after))
    return vehicle


def set_vehicle_active(session: Session, actor: Actor, vehicle_id: int, active: bool) -> Vehicle:
    """Activate or deactivate a vehicle.

    NOTE: riders keep an inactive vehicle as their default, and shifts already planned with
    it stay. Reassign those riders on the riders tab.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        NotFoundError: no such vehicle.
    """
    return _set_active(session, actor, Vehicle, vehicle_id, active, "vehicle")


def list_riders(session: Session, actor: Actor) -> list[Rider]:
    """Return up to `MAX_PAGE_SIZE` riders, active or not, ordered by code."""
    _require_admin(actor, "rider list")
    statement = select(Rider).order_by(col(Rider.code)).limit(MAX_PAGE_SIZE)
    return list(session.exec(statement))


def _rider_values(session: Session, spec: RiderSpec) -> dict[str, Any]:
    """Check a rider's fields and return them ready to store."""
    phone = spec.phone.strip()
    if len(phone) > 40:
        raise ValidationError(
            f"Phone {phone[:20]!r}... has {len(phone)} characters; shorten it to 40.",
            field="phone",
        )
    if spec.vehicle_id is not None:
        vehicle = session.get(Vehicle, spec.vehicle_id)
        if vehicle is None:
            raise ValidationError(
                f"Vehicle {spec.vehicle_id} not found; pick a vehicle from the list.",
                field="vehicle_id",
            )
        if not vehicle.active:
            raise ValidationError(
                f"Vehicle {vehicle.code} is inactive; pick an active vehicle or activate it.",
                field="vehicle_id",
            )
    return {
        "name": _check_text(spec.name, "Rider name", 200, "Ana Souza"),
        "phone": phone,
        "vehicle_id": spec.vehicle_id,
    }


def create_rider(session: Session, actor: Actor, spec: RiderSpec) -> Rider:
    """Add an active rider with a new code.

    A rider signs in only once an admin creates a user with the rider role for them.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        ValidationError: a missing or taken code, a missing name, a long phone number, or
            an unknown or inactive vehicle.
    """
    _require_admin(actor, f"rider {spec.code}")
    code = _check_text(spec.code, "Rider code", 40, "R-24")
    values = _rider_values(session, spec)
    existing = session.exec(select(Rider).where(Rider.code == code)).first()
    if existing is not None:
        raise ValidationError(
            f"Rider code {code} is already used by {existing.name!r}; choose another code, "
            "or edit that rider.",
            field="code",
            rider_id=existing.id,
        )

    rider = Rider(code=code, **values)
    _flush_new(session, rider, f"Rider code {code} is already used; choose another code.")
    record_event(
        session, actor, "rider", rider.id, "rider_created", payload={"code": code, **values}
    )
    logger.info("Rider %s created by %s", code, actor.username)
    return rider


def update_rider(session: Session, actor: Actor, rider_id: int, spec: RiderSpec) -> Rider:
    """Change a rider's name, phone and default vehicle.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        NotFoundError: no such rider.
        ValidationError: `spec.code` differs from the rider's code, or a field breaks the
            rules of `create_rider`.
    """
    _require_admin(actor, f"rider {rider_id}")
    rider = _get(session, Rider, rider_id, "Rider")
    if spec.code.strip() != rider.code:
        raise ValidationError(
            f"Rider code {rider.code} cannot change to {spec.code.strip()!r}; create a new "
            "rider and deactivate this one.",
            field="code",
        )
    before, after = _apply(rider, _rider_values(session, spec))
    if after:
        session.add(rider)
        record_event(
            session,
            actor,
            "rider",
            rider.id,
            "rider_changed",
            payload={"before": before, "after": after},
        )
        logger.info("Rider %s changed by %s: %s", rider.code, actor.username, sorted(after))
    return rider


def set_rider_active(session: Session, actor: Actor, rider_id: int, active: bool) -> Rider:
    """Activate or deactivate a rider.

    NOTE: deactivating a rider leaves their user account and planned routes as they are.
    Disable the user on the users tab to stop them signing in.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        NotFoundError: no such rider.
    """
    return _set_active(session, actor, Rider, rider_id, active, "rider")
