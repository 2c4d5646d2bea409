"""Dealer accounts: invoices raised on delivery, payments, the account summary and statements.

A delivered dealer order moves its total from the dealer's open orders to its unpaid
balance and raises one `Invoice` in the same transaction (`raise_invoice`, called by the
delivery state machine). Operations record payments, which lower the unpaid balance and
are applied to the oldest open invoices first.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, func, select

from distro.backbone.actors import Actor
from distro.backbone.authz import require_dealer, require_role
from distro.backbone.errors import NotFoundError, ValidationError
from distro.backbone.events import record_event
from distro.backbone.models import Dealer, Invoice, Order, Payment, Role
from distro.backbone.orders import OPEN_STATUSES
from distro.settings import get_settings

logger = logging.getLogger(__name__)

PAYMENT_ROLES = (Role.DISPATCHER, Role.MANAGER, Role.ADMIN)
"""Operations roles that may record a dealer's payment."""

MAX_PAYMENT_REFERENCE = 120


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """A dealer's credit position and counts, as the account page shows them."""

    dealer_id: int
    dealer_code: str
    dealer_name: str
    credit_limit_cents: int
    unpaid_cents: int
    open_orders_cents: int
    open_orders: int
    overdue_cents: int
    """Unpaid remainder of invoices whose due date has passed."""

    @property
    def exposure_cents(self) -> int:
        """Unpaid invoices plus open orders."""
        return self.unpaid_cents + self.open_orders_cents

    @property
    def available_credit_cents(self) -> int:
        """The credit limit minus exposure, never below 0."""
        return max(self.credit_limit_cents - self.exposure_cents, 0)


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One invoice or payment on a dealer's statement, with the balance after it."""

    at: datetime
    kind: str
    """"invoice" or "payment"."""
    reference: str
    order_number: str
    debit_cents: int
    credit_cents: int
    balance_cents: int


def invoice_number(order: Order) -> str:
    """Return the number of the invoice for an order, for example "INV-0000042"."""
    return f"INV-{order.id:07d}"


def raise_invoice(session: Session, order: Order, issued_at: datetime | None = None) -> Invoice:
    """Add the invoice of a delivered dealer order to the session; the caller commits.

    The amount is the order total, matching what the delivered transition adds to the
    dealer's unpaid balance. Due DISTRO_PAYMENT_TERMS_DAYS days after `issued_at` (default now).

    NOTE: a partly delivered order is invoiced in full, because the delivered transition
    raises the unpaid balance by the full total. Credit notes for short deliveries are not
    modelled yet.
    """
    issued = issued_at or datetime.now(UTC)
    invoice = Invoice(
        dealer_id=order.dealer_id,
        order_id=order.id,
        number=invoice_number(order),
        amount_cents=order.total_cents,
        issued_at=issued,
        due_at=issued + timedelta(days=get_settings().payment_terms_days),
    )
    session.add(invoice)
    return invoice


def record_payment(
    session: Session, actor: Actor, dealer_id: int, amount_cents: int, reference: str
) -> Payment:
    """Record money received from a dealer and lower its unpaid balance; the caller commits.

    Locks the dealer row, applies the amount to the oldest open invoices and writes one
    `payment_recorded` event.

    Raises:
        PermissionDeniedError: the actor is not dispatcher, manager or admin.
        ValidationError: the amount is not positive, exceeds the unpaid balance, or the
            reference is empty or too long.
        NotFoundError: no such dealer.
    """
    require_role(actor, *PAYMENT_ROLES, target=f"payment for dealer {dealer_id}")
    reference = reference.strip()
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise ValidationError(
            f"Payment amount {amount_cents!r} must be a positive number of cents.",
            field="amount_cents",
        )
    if not reference or len(reference) > MAX_PAYMENT_REFERENCE:
        raise ValidationError(
            f"Give the payment's bank or receipt reference, 1-{MAX_PAYMENT_REFERENCE} characters.",
            field="reference",
        )

    dealer = session.exec(select(Dealer).where(Dealer.id == dealer_id).with_for_update()).first()
    if dealer is None:
        raise NotFoundError(f"Dealer {dealer_id} not found", dealer_id=dealer_id)
    if amount_cents > dealer.unpaid_cents:
        raise ValidationError(
            f"Payment {amount_cents / 100:.2f} exceeds the unpaid balance "
            f"{dealer.unpaid_cents / 100:.2f} of dealer {dealer.code}; record at most the balance.",
            amount_cents=amount_cents,
            unpaid_cents=dealer.unpaid_cents,
        )

    payment = Payment(
        dealer_id=dealer.id,
        amount_cents=amount_cents,
        reference=reference,
        recorded_by=actor.username,
    )
    session.add(payment)
    dealer.unpaid_cents -= amount_cents
    session.add(dealer)
    settled = _apply_to_invoices(session, dealer.id, amount_cents)
    session.flush()

    record_event(
        session,
        actor,
        "dealer",
        dealer.id,
        "payment_recorded",
        payload={
            "payment_id": payment.id,
            "amount_cents": amount_cents,
            "reference": reference,
            "unpaid_cents": dealer.unpaid_cents,
            "invoices": settled,
        },
    )
    logger.info(
        "Payment %d of %d cents recorded for dealer %d by %s",
        payment.id,
        amount_cents,
        dealer.id,
        actor.username,
    )
    return payment


def _apply_to_invoices(session: Session, dealer_id: int, amount_cents: int) -> list[str]:
    """Mark `amount_cents` paid on the dealer's oldest open invoices; return their numbers."""
    open_invoices = session.exec(
        select(Invoice)
        .where(Invoice.dealer_id == dealer_id, col(Invoice.paid_cents) < col(Invoice.amount_cents))
        .order_by(col(Invoice.issued_at), col(Invoice.id))
        .with_for_update()
    ).all()
    left = amount_cents
    settled = []
    for invoice in open_invoices:
        if left <= 0:
            break
        share = min(left, invoice.amount_cents - invoice.paid_cents)
        invoice.paid_cents += share
        left -= share
        session.add(invoice)
        settled.append(invoice.number)
    return settled


def account_summary(session: Session, actor: Actor, dealer_id: int) -> AccountSummary:
    """Return a dealer's credit limit, balances, open orders and overdue amount.

    Raises:
        PermissionDeniedError: the actor is not staff of this dealer or operations.
        NotFoundError: no such dealer.
    """
    require_dealer(actor, dealer_id)
    dealer = session.get(Dealer, dealer_id)
    if dealer is None:
        raise NotFoundError(f"Dealer {dealer_id} not found", dealer_id=dealer_id)

    open_orders = session.exec(
        select(func.count())
        .select_from(Order)
        .where(Order.dealer_id == dealer_id, col(Order.status).in_(OPEN_STATUSES))
    ).one()
    overdue = session.exec(
        select(
            func.coalesce(func.sum(col(Invoice.amount_cents) - col(Invoice.paid_cents)), 0)
        ).where(
            Invoice.dealer_id == dealer_id,
            col(Invoice.due_at) < datetime.now(UTC),
            col(Invoice.paid_cents) < col(Invoice.amount_cents),
        )
    ).one()
    return AccountSummary(
        dealer_id=dealer.id,
        dealer_code=dealer.code,
        dealer_name=dealer.name,
        credit_limit_cents=dealer.credit_limit_cents,
        unpaid_cents=dealer.unpaid_cents,
        open_orders_cents=dealer.open_orders_cents,
        open_orders=open_orders,
        overdue_cents=int(overdue),
    )


def list_invoices(
    session: Session, actor: Actor, dealer_id: int, limit: int = 50
) -> list[tuple[Invoice, str]]:
    """Return the dealer's newest invoices with their order numbers, newest first.

    Raises:
        PermissionDeniedError: the actor is not staff of this dealer or operations.
    """
    require_dealer(actor, dealer_id)
    statement = (
        select(Invoice, Order.number)
        .join(Order, col(Order.id) == col(Invoice.order_id))
        .where(Invoice.dealer_id == dealer_id)
        .order_by(col(Invoice.issued_at).desc(), col(Invoice.id).desc())
        .limit(limit)
    )
    return [(invoice, number) for invoice, number in session.exec(statement)]


def list_payments(session: Session, actor: Actor, dealer_id: int, limit: int = 50) -> list[Payment]:
    """Return the dealer's newest payments, newest first.

    Raises:
        PermissionDeniedError: the actor is not staff of this dealer or operations.
    """
    require_dealer(actor, dealer_id)
    statement = (
        select(Payment)
        .where(Payment.dealer_id == dealer_id)
        .order_by(col(Payment.received_at).desc(), col(Payment.id).desc())
        .limit(limit)
    )
    return list(session.exec(statement))


def statement_entries(session: Session, actor: Actor, dealer_id: int) -> list[StatementEntry]:
    """Return every invoice and payment of a dealer, oldest first, with the running balance.

    Raises:
        PermissionDeniedError: the actor is not staff of this dealer or operations.
    """
    require_dealer(actor, dealer_id)
    invoices = session.exec(
        select(Invoice, Order.number)
        .join(Order, col(Order.id) == col(Invoice.order_id))
        .where(Invoice.dealer_id == dealer_id)
    ).all()
    payments = session.exec(select(Payment).where(Payment.dealer_id == dealer_id)).all()

    movements = [
        (
            _aware(invoice.issued_at),
            0,
            invoice.id,
            "invoice",
            invoice.number,
            number,
            invoice.amount_cents,
            0,
        )
        for invoice, number in invoices
    ] + [
        (
            _aware(payment.received_at),
            1,
            payment.id,
            "payment",
            payment.reference,
            "",
            0,
            payment.amount_cents,
        )
        for payment in payments
    ]
    movements.sort(key=lambda movement: movement[:3])

    balance = 0
    entries = []
    for at, _, _, kind, reference, number, debit, credit in movements:
        balance += debit - credit
        entries.append(StatementEntry(at, kind, reference, number, debit, credit, balance))
    return entries


def statement_csv(session: Session, actor: Actor, dealer_id: int) -> str:
    """Return the dealer's statement as CSV text.

    Columns: date, type, reference, order, debit, credit, balance.

    Amounts are in currency units with two decimals.

    Raises:
        PermissionDeniedError: the actor is not staff of this dealer or operations.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["date", "type", "reference", "order", "debit", "credit", "balance"])
    for entry in statement_entries(session, actor, dealer_id):
        writer.writerow(
            [
                entry.at.date().isoformat(),
                entry.kind,
                entry.reference,
                entry.order_number,
                f"{entry.debit_cents / 100:.2f}" if entry.debit_cents else "",
                f"{entry.credit_cents / 100:.2f}" if entry.credit_cents else "",
                f"{entry.balance_cents / 100:.2f}",
            ]
        )
    return buffer.getvalue()


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; the database stores UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
