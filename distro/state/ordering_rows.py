"""Rows the order desk shows, and the formats of money, days and timeline steps.

Plain dataclasses and functions: the state fills these from backbone results, so that the
state contains small rows of text and numbers rather than database objects.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from distro.backbone import cart, dealer_orders
from distro.backbone.models import Order
from distro.formatting import local_clock, status_label


def money(cents: int) -> str:
    """Format cents as currency units with thousands separators, for example "1,234.50"."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) / 100:,.2f}"


def short_day(moment: date | datetime | None) -> str:
    """Format a date or datetime as "2026-12-07"; empty for None."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        return moment.date().isoformat()
    return moment.isoformat()


@dataclasses.dataclass
class CartItem:
    """One SKU and quantity in the cart, as the dealer entered it."""

    sku: str
    quantity: int


@dataclasses.dataclass
class CartRow:
    """One checked cart line as the cart table shows it."""

    sku: str
    name: str
    quantity: int
    unit: str
    unit_price: str
    line_total: str
    available: int
    pack_note: str
    round_to: int
    """The nearest valid quantity when the line breaks the pack or minimum rule, else 0."""
    problem: str
    ok: bool


@dataclasses.dataclass
class CandidateRow:
    """A product a loosely typed line may mean."""

    sku: str
    label: str


@dataclasses.dataclass
class MatchRow:
    """A typed or pasted line whose product or quantity the dealer must confirm."""

    key: str
    text: str
    quantity: int
    candidates: list[CandidateRow]


@dataclasses.dataclass
class CatalogRow:
    """One product of the dealer's catalog."""

    sku: str
    name: str
    unit: str
    pack_size: int
    min_order_qty: int
    price: str
    add_quantity: int


@dataclasses.dataclass
class OrderRow:
    """One order of the history list."""

    order_id: int
    number: str
    placed: str
    delivery_day: str
    status: str
    status_text: str
    total: str
    units: int
    entered_by: str


@dataclasses.dataclass
class LineRow:
    """One line of the selected order."""

    sku: str
    name: str
    quantity: int
    unit_price: str
    line_total: str


@dataclasses.dataclass
class StepRow:
    """One step of the selected order's timeline."""

    key: str
    label: str
    at: str
    detail: str
    state: str
    """"done", "todo" or "bad" (failed or cancelled)."""


@dataclasses.dataclass
class InvoiceRow:
    """One invoice on the account tab."""

    number: str
    order_number: str
    issued: str
    due: str
    amount: str
    open_amount: str


@dataclasses.dataclass
class PaymentRow:
    """One payment on the account tab."""

    received: str
    reference: str
    amount: str
    recorded_by: str


@dataclasses.dataclass
class HoldRow:
    """One order on credit hold, for the operations desk."""

    order_id: int
    number: str
    dealer: str
    total: str
    limit: str
    exposure: str
    entered_by: str


@dataclasses.dataclass
class DealerChoice:
    """A dealer operations can order for."""

    key: str
    label: str


def round_to(quantity: int, pack_size: int, minimum: int) -> int:
    """Return the nearest valid quantity at or above `quantity`, or 0 when it is already valid."""
    wanted = max(quantity, minimum)
    rounded = -(-wanted // pack_size) * pack_size
    return rounded if rounded != quantity else 0


def order_row(order: Order) -> OrderRow:
    """Turn an order into a row of the history list."""
    return OrderRow(
        order_id=order.id,
        number=order.number,
        placed=short_day(order.created_at),
        delivery_day=order.delivery_day.isoformat(),
        status=order.status,
        status_text=status_label(order.status),
        total=money(order.total_cents),
        units=order.units,
        entered_by=order.entered_by,
    )


def step_row(step: dealer_orders.TimelineStep) -> StepRow:
    """Turn a timeline step into a row, with its time and ETA in the network's time zone."""
    if step.key in ("failed", "cancelled"):
        state = "bad"
    elif step.at is not None:
        state = "done"
    else:
        state = "todo"
    detail = step.detail
    # The ETA matters until the rider leaves; after that the step's own time is what counts.
    if step.eta is not None and (step.key == "planned" or step.at is None):
        detail = f"ETA {local_clock(step.eta)}" + (f" · {detail}" if detail else "")
    return StepRow(
        key=step.key,
        label=step.label,
        at=(f"{short_day(step.at)} {local_clock(step.at)}" if step.at else ""),
        detail=detail,
        state=state,
    )


def cart_row(line: cart.CartLineCheck) -> CartRow:
    """Turn a checked cart line into a row, with its pack note and the quantity to round to."""
    known = bool(line.name)
    pack_note = ""
    if known:
        pack_note = f"pack {line.pack_size}"
        if line.min_order_qty > 1:
            pack_note += f", min {line.min_order_qty}"
    return CartRow(
        sku=line.sku,
        name=line.name or "Unknown product",
        quantity=line.quantity,
        unit=line.unit,
        unit_price=money(line.unit_price_cents),
        line_total=money(line.line_total_cents),
        available=line.available,
        pack_note=pack_note,
        round_to=round_to(line.quantity, line.pack_size, line.min_order_qty) if known else 0,
        # The line shows next to its SKU, so the messages drop their "SKU: " prefix.
        problem="; ".join(problem["message"].split(": ", 1)[-1] for problem in line.problems),
        ok=line.ok,
    )
