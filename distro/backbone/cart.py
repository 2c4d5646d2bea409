"""Checking a dealer's cart as it is edited, with the rules `place_order` applies at submit.

`validate_cart` reads and never writes or locks: it prices each line at the dealer's tier,
checks the catalog rules, the stock available at the fulfilling warehouse and the credit
left, and reports every problem at once. `place_order` checks the same rules again inside
its transaction, so a cart that was valid a moment ago can still be rejected at submit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from distro.backbone import inventory
from distro.backbone.actors import Actor
from distro.backbone.authz import require_dealer
from distro.backbone.catalog import priced_products
from distro.backbone.errors import NotFoundError, ValidationError
from distro.backbone.models import Dealer, Role
from distro.backbone.orders import (
    LineRequest,
    collect_lines,
    credit_problem,
    line_problem,
    pack_hint,
)


@dataclass(frozen=True, slots=True)
class CartLineCheck:
    """One merged cart line with its server price, stock and broken rules."""

    sku: str
    quantity: int
    name: str = ""
    unit: str = ""
    pack_size: int = 1
    min_order_qty: int = 1
    unit_price_cents: int = 0
    available: int = 0
    """Units on hand minus reserved at the dealer's warehouse when checked."""
    hint: str = ""
    """Quantities that satisfy the pack size and minimum, for example "order 12 or 6"."""
    problems: tuple[dict[str, Any], ...] = ()

    @property
    def line_total_cents(self) -> int:
        """Quantity times unit price, in cents (0 for an unknown SKU)."""
        return self.quantity * self.unit_price_cents

    @property
    def ok(self) -> bool:
        """Whether the line breaks no rule."""
        return not self.problems


@dataclass(frozen=True, slots=True)
class CartCheck:
    """The outcome of checking a whole cart for one dealer."""

    dealer_id: int
    dealer_code: str
    lines: list[CartLineCheck]
    total_cents: int
    credit_limit_cents: int
    exposure_cents: int
    """Unpaid invoices plus open orders before this cart."""
    problems: list[dict[str, Any]] = field(default_factory=list)
    """Every broken rule of every line, then the credit limit; each has a `message`."""

    @property
    def available_credit_cents(self) -> int:
        """Credit left before this cart: the limit minus exposure, never below 0."""
        return max(self.credit_limit_cents - self.exposure_cents, 0)

    @property
    def credit_after_cents(self) -> int:
        """Credit left after this cart; negative when the cart exceeds the limit."""
        return self.credit_limit_cents - self.exposure_cents - self.total_cents

    @property
    def over_credit(self) -> bool:
        """Whether the cart would take the dealer over its credit limit."""
        return any(problem["rule"] == "credit_limit" for problem in self.problems)

    @property
    def ok(self) -> bool:
        """Whether `place_order` would accept the cart as it stands now."""
        return not self.problems and bool(self.lines)


def ordering_dealer_id(actor: Actor, dealer_id: int | None) -> int:
    """Return the dealer an actor orders for: their own for dealer staff, else `dealer_id`.

    Raises:
        PermissionDeniedError: an operations actor asked for no dealer, or a dealer user
            asked for another dealer.
        ValidationError: an operations actor gave no dealer.
    """
    if actor.role == Role.DEALER:
        if dealer_id is not None:
            require_dealer(actor, dealer_id)
        if actor.dealer_id is None:
            require_dealer(actor, None)
        return actor.dealer_id
    require_dealer(actor, dealer_id)
    if dealer_id is None:
        raise ValidationError("Choose the dealer to order for.", field="dealer_id")
    return dealer_id


def validate_cart(
    session: Session,
    actor: Actor,
    lines: Sequence[LineRequest],
    *,
    dealer_id: int | None = None,
) -> CartCheck:
    """Check a cart against the rules of `place_order` without writing or locking anything.

    Args:
        session: Open session; only reads.
        actor: Dealer staff (their own dealer) or operations staff ordering for a dealer.
        lines: Requested SKUs and quantities; lines with the same SKU are summed.
        dealer_id: The dealer to order for; ignored for dealer staff, required otherwise.

    Returns:
        The priced lines, the total, the credit figures and every broken rule.

    Raises:
        PermissionDeniedError: the actor may not order for the dealer.
        NotFoundError: the dealer does not exist or is inactive.
    """
    dealer_id = ordering_dealer_id(actor, dealer_id)
    dealer = session.get(Dealer, dealer_id)
    if dealer is None or not dealer.active:
        raise NotFoundError(f"Dealer {dealer_id} not found", dealer_id=dealer_id)

    merged, problems = collect_lines(lines)
    catalog = priced_products(session, merged, dealer.tier_id)
    stock = inventory.read_stock(
        session, dealer.warehouse_id, [product.id for product, _ in catalog.values()]
    )

    checked: list[CartLineCheck] = []
    for sku, quantity in merged.items():
        product, price = catalog.get(sku, (None, None))
        line_problems = []
        rule = line_problem(sku, quantity, product, price)
        if rule is not None:
            line_problems.append(rule)
        if product is None:
            checked.append(CartLineCheck(sku=sku, quantity=quantity, problems=tuple(line_problems)))
            problems.extend(line_problems)
            continue

        shortfalls = inventory.find_shortfalls(stock, {product.id: quantity}, {product.id: product})
        line_problems.extend(
            {
                "sku": sku,
                "rule": "stock",
                "available": short["available"],
                "requested": short["requested"],
                "message": f"{sku}: {short['available']} available, {short['requested']} requested",
            }
            for short in shortfalls
        )
        checked.append(
            CartLineCheck(
                sku=sku,
                quantity=quantity,
                name=product.name,
                unit=product.unit,
                pack_size=product.pack_size,
                min_order_qty=product.min_order_qty,
                unit_price_cents=price or 0,
                available=max(inventory.available(stock.get(product.id)), 0),
                hint=pack_hint(product, quantity),
                problems=tuple(line_problems),
            )
        )
        problems.extend(line_problems)

    total = sum(line.line_total_cents for line in checked if line.unit_price_cents)
    breach = credit_problem(dealer, total)
    if breach is not None:
        problems.append(breach)
    return CartCheck(
        dealer_id=dealer.id,
        dealer_code=dealer.code,
        lines=checked,
        total_cents=total,
        credit_limit_cents=dealer.credit_limit_cents,
        exposure_cents=dealer.unpaid_cents + dealer.open_orders_cents,
        problems=problems,
    )
