"""State of the order desk: the dealer's own page (/dealer) and operations' page (/orders/desk).

Both pages share this state. A dealer user always orders for its own dealer (the id comes
from the session); operations staff pick a dealer, and the backbone checks that their role
may act for it. The cart holds SKUs and quantities only: prices, totals, stock and credit
are read from the server on every change, and again inside the submit transaction.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import date, timedelta

import reflex as rx
from sqlmodel import col, select

from distro.backbone import billing, cart, credit, dealer_orders, feed, quick_order
from distro.backbone.actors import Actor
from distro.backbone.errors import DistroError
from distro.backbone.events import latest_event_id
from distro.backbone.models import Dealer, Role
from distro.backbone.orders import LineRequest, submit_order
from distro.backbone.tracking import local_today
from distro.formatting import status_label
from distro.db import get_engine, session_scope
from distro.state.auth import AuthState
from distro.state.ordering_rows import (
    CandidateRow,
    CartItem,
    CartRow,
    CatalogRow,
    DealerChoice,
    HoldRow,
    InvoiceRow,
    LineRow,
    MatchRow,
    OrderRow,
    PaymentRow,
    StepRow,
    cart_row,
    money,
    order_row,
    round_to,
    short_day,
    step_row,
)

logger = logging.getLogger(__name__)

DESK_ROLES = (Role.DISPATCHER, Role.MANAGER, Role.ADMIN)
"""Operations roles that take orders for dealers on /orders/desk."""

ORDERING_ROLES = (Role.DEALER, *DESK_ROLES)

CATALOG_PAGE_SIZE = 60
"""Catalog rows shown at once; typing narrows the list."""

HISTORY_PAGE_SIZE = 30
RECENT_ORDERS = 5
MAX_CART_LINES = 100
MAX_QUANTITY = 1_000_000
MAX_PASTE_CHARS = 20_000
MAX_CSV_BYTES = 512 * 1024
MAX_SAVED_CART_CHARS = 8_000
"""Longest saved cart read back from the browser; a longer value is ignored."""


def new_submit_key() -> str:
    """Return a fresh idempotency key for the next submit of a cart."""
    return uuid.uuid4().hex


def next_delivery_day() -> date:
    """Return the default delivery day: tomorrow in the network's time zone."""
    return local_today() + timedelta(days=1)


def encode_saved_cart(dealer_id: int, items: list[CartItem]) -> str:
    """Return the cart as compact JSON for the browser: the dealer id and [sku, quantity] pairs."""
    lines = [[item.sku, item.quantity] for item in items]
    return json.dumps({"dealer": dealer_id, "lines": lines}, separators=(",", ":"))


def decode_saved_cart(text: str, dealer_id: int) -> list[tuple[str, int]]:
    """Return the [sku, quantity] pairs of a saved cart if it belongs to `dealer_id`.

    The value comes from the browser, so anything malformed, too long or saved for another
    dealer gives an empty list, and only SKU strings and whole quantities are read.
    """
    if not text or len(text) > MAX_SAVED_CART_CHARS:
        return []
    try:
        saved = json.loads(text)
    except ValueError:
        return []
    if not isinstance(saved, dict) or saved.get("dealer") != dealer_id:
        return []
    lines = saved.get("lines")
    if not isinstance(lines, list):
        return []
    pairs = []
    for line in lines[:MAX_CART_LINES]:
        if (
            isinstance(line, list)
            and len(line) == 2
            and isinstance(line[0], str)
            and isinstance(line[1], int)
            and not isinstance(line[1], bool)
        ):
            pairs.append((line[0], line[1]))
    return pairs


def read_cart(actor: Actor, dealer_id: int | None, items: list[CartItem]) -> cart.CartCheck:
    """Check the cart against the server's prices, stock and credit; runs in a worker thread."""
    with session_scope() as session:
        return cart.validate_cart(
            session,
            actor,
            [LineRequest(item.sku, item.quantity) for item in items],
            dealer_id=dealer_id,
        )


class OrderingState(AuthState):
    """The order desk of one dealer: catalog, quick order, cart, orders and account."""

    tab: str = "order"
    dealer_id: int = 0
    """The dealer on the page: the user's own for dealer staff, the picked one for operations."""
    dealer_label: str = ""
    desk_mode: bool = False
    dealer_choices: list[DealerChoice] = []

    catalog_query: str = ""
    catalog_rows: list[CatalogRow] = []
    catalog_count: int = 0

    cart_items: list[CartItem] = []
    # The dealer's cart survives a reload and a new sign-in in the same browser. Browser
    # storage needs no table or clean-up job, and it can be trusted this far: it holds only
    # SKUs and quantities, restored through `_add_line` and checked by the server like typed
    # lines, and it is read back only for the dealer id it was saved for.
    saved_cart: str = rx.LocalStorage("", name="distro_dealer_cart")
    cart_rows: list[CartRow] = []
    cart_total: str = "0.00"
    credit_limit: str = "0.00"
    available_credit: str = "0.00"
    credit_after: str = "0.00"
    over_credit: bool = False
    cart_problems: list[str] = []
    cart_ok: bool = False
    submit_key: str = ""
    delivery_day: str = ""
    submitting: bool = False

    matches: list[MatchRow] = []
    input_notice: str = ""

    notice: str = ""
    notice_kind: str = "info"

    history_filter: str = "all"
    history_search: str = ""
    orders: list[OrderRow] = []
    recent_orders: list[OrderRow] = []

    selected_order_id: int = 0
    selected_number: str = ""
    selected_status: str = ""
    selected_status_text: str = ""
    selected_total: str = ""
    selected_delivery_day: str = ""
    selected_lines: list[LineRow] = []
    selected_code: str = ""
    steps: list[StepRow] = []

    seen_event_id: int = 0

    balance: str = "0.00"
    open_orders_value: str = "0.00"
    open_orders_count: int = 0
    overdue: str = "0.00"
    exposure: str = "0.00"
    invoices: list[InvoiceRow] = []
    payments: list[PaymentRow] = []

    holds: list[HoldRow] = []

    @rx.var
    def cart_count(self) -> int:
        """Lines in the cart."""
        return len(self.cart_items)

    @rx.var
    def has_dealer(self) -> bool:
        """Whether a dealer is chosen, so the order desk can be used."""
        return self.dealer_id > 0

    # Page loads

    @rx.event
    def load_dealer_page(self):
        """Open the dealer's own order desk."""
        if (redirect := self.redirect_unless(Role.DEALER)) is not None:
            return redirect
        actor = self.require(Role.DEALER)
        self.desk_mode = False
        self.dealer_id = actor.dealer_id or 0
        self._open_dealer(actor)
        return None

    @rx.event
    def load_desk_page(self):
        """Open the operations order desk: the dealer list and the credit holds."""
        if (redirect := self.redirect_unless(*DESK_ROLES)) is not None:
            return redirect
        actor = self.require(*DESK_ROLES)
        self.desk_mode = True
        with session_scope() as session:
            dealers = session.exec(
                select(Dealer).where(col(Dealer.active).is_(True)).order_by(col(Dealer.code))
            ).all()
            self.dealer_choices = [DealerChoice(str(d.id), f"{d.code} · {d.name}") for d in dealers]
        self._load_holds(actor)
        if self.dealer_id and str(self.dealer_id) in {c.key for c in self.dealer_choices}:
            self._open_dealer(actor)
        else:
            self.dealer_id = 0
            self.dealer_label = ""
        return None

    @rx.event
    def pick_dealer(self, key: str) -> None:
        """Take orders for another dealer (operations only); the cart starts empty."""
        actor = self.require(*DESK_ROLES)
        if not key.isdigit():
            return
        self.dealer_id = int(key)
        self._open_dealer(actor)

    def _open_dealer(self, actor: Actor) -> None:
        with session_scope() as session:
            dealer = session.get(Dealer, self.dealer_id) if self.dealer_id else None
            self.seen_event_id = latest_event_id(session)
        if dealer is None:
            self.dealer_label = ""
            return
        self.dealer_label = f"{dealer.code} · {dealer.name}"
        self.selected_order_id = 0
        self.steps = []
        self.matches = []
        self.notice = ""
        self.input_notice = ""
        self._reset_cart()
        if not self.desk_mode:
            for sku, quantity in decode_saved_cart(self.saved_cart, self.dealer_id):
                self._add_line(sku, quantity)
        self._load_catalog(actor)
        self._load_orders(actor)
        self._load_account(actor)
        self._check_cart(actor)

    @rx.event
    def open_tab(self, tab: str) -> None:
        """Show the order, orders or account tab."""
        actor = self.require(*ORDERING_ROLES)
        if tab not in ("order", "orders", "account"):
            return
        self.tab = tab
        if tab == "account" and self.dealer_id:
            self._load_account(actor)

    # Catalog and quick order

    @rx.event
    def search_catalog(self, query: str) -> None:
        """Filter the catalog by SKU or name as the dealer types."""
        actor = self.require(*ORDERING_ROLES)
        self.catalog_query = query[:80]
        self._load_catalog(actor)

    def _load_catalog(self, actor: Actor) -> None:
        if not self.dealer_id:
            self.catalog_rows = []
            return
        with session_scope() as session:
            rows = dealer_orders.search_catalog(
                session, actor, self._dealer_for(actor) or 0, self.catalog_query, limit=500
            )
        self.catalog_count = len(rows)
        self.catalog_rows = [
            CatalogRow(
                sku=row.sku,
                name=row.name,
                unit=row.unit,
                pack_size=row.pack_size,
                min_order_qty=row.min_order_qty,
                price=money(row.unit_price_cents),
                add_quantity=round_to(0, row.pack_size, row.min_order_qty) or row.pack_size,
            )
            for row in rows[:CATALOG_PAGE_SIZE]
        ]

    @rx.event
    async def add_from_catalog(self, sku: str, quantity: int) -> None:
        """Add a catalog product at its smallest valid quantity."""
        actor = self.require(*ORDERING_ROLES)
        self._add_line(str(sku), int(quantity))
        await self._check_cart_async(actor)

    @rx.event
    async def quick_add(self, form_data: dict) -> None:
        """Add a typed line: a SKU or product name and a quantity."""
        actor = self.require(*ORDERING_ROLES)
        item = str(form_data.get("item", "")).strip()[:200]
        quantity_text = str(form_data.get("quantity", "")).strip()
        if not item:
            self.input_notice = "Type a SKU or product name, then the quantity."
            return
        text = f"{item} {quantity_text}" if quantity_text.isdigit() else item
        await self._take_lines(actor, quick_order.parse_text(text))

    @rx.event
    async def paste_lines(self, form_data: dict) -> None:
        """Read pasted lines, such as a list copied from a chat message."""
        actor = self.require(*ORDERING_ROLES)
        text = str(form_data.get("paste", ""))[:MAX_PASTE_CHARS]
        parsed = quick_order.parse_text(text)
        if not parsed:
            self.input_notice = "Paste one product per line, for example: SKU-104 20"
            return
        await self._take_lines(actor, parsed)

    @rx.event
    async def upload_csv(self, files: list[rx.UploadFile]) -> None:
        """Read a CSV of order lines (a product column and a quantity column)."""
        actor = self.require(*ORDERING_ROLES)
        if not files:
            return
        content = await files[0].read()
        if len(content) > MAX_CSV_BYTES:
            self.input_notice = (
                f"The file has {len(content)} bytes; the limit is {MAX_CSV_BYTES}. Split it."
            )
            return
        text = content.decode("utf-8-sig", errors="replace")
        parsed = quick_order.parse_csv(text)
        if not parsed:
            self.input_notice = (
                "The file has no order lines; it needs a SKU column and a quantity column."
            )
            return
        await self._take_lines(actor, parsed)

    async def _take_lines(self, actor: Actor, parsed: list[quick_order.ParsedLine]) -> None:
        if not self.dealer_id:
            self.input_notice = "Choose a dealer first."
            return
        with session_scope() as session:
            entries = [
                quick_order.CatalogEntry(row.sku, row.name)
                for row in dealer_orders.search_catalog(
                    session, actor, self._dealer_for(actor) or 0, limit=10_000
                )
            ]
        matched = quick_order.match_lines(parsed, entries)

        added = 0
        pending = []
        for line in matched:
            if line.certain and line.sku is not None and line.quantity:
                self._add_line(line.sku, line.quantity)
                added += 1
                continue
            pending.append(
                MatchRow(
                    key=f"{line.line_number}-{uuid.uuid4().hex[:6]}",
                    text=line.text,
                    quantity=line.quantity or 0,
                    candidates=[
                        CandidateRow(c.sku, f"{c.sku} · {c.name}") for c in line.candidates
                    ],
                )
            )
        self.matches = (self.matches + pending)[:50]
        unmatched = sum(1 for row in pending if not row.candidates)
        to_confirm = len(pending) - unmatched
        parts = [f"Added {added} line{'s' if added != 1 else ''}."]
        if to_confirm:
            parts.append(f"{to_confirm} to confirm below.")
        if unmatched:
            parts.append(f"{unmatched} matched no product.")
        self.input_notice = " ".join(parts)
        await self._check_cart_async(actor)

    @rx.event
    async def confirm_match(self, form_data: dict) -> None:
        """Add a line the dealer confirmed, with the product and quantity they chose."""
        actor = self.require(*ORDERING_ROLES)
        key = str(form_data.get("key", ""))
        sku = str(form_data.get("sku", "")).strip()
        quantity_text = str(form_data.get("quantity", "")).strip()
        if not sku:
            self.input_notice = "Choose the product this line means."
            return
        if not quantity_text.isdigit() or int(quantity_text) <= 0:
            self.input_notice = "Enter a quantity above 0 for the line you confirm."
            return
        self._add_line(sku, int(quantity_text))
        self.matches = [row for row in self.matches if row.key != key]
        await self._check_cart_async(actor)

    @rx.event
    def dismiss_match(self, key: str) -> None:
        """Drop a line that needs confirmation."""
        self.require(*ORDERING_ROLES)
        self.matches = [row for row in self.matches if row.key != key]

    # Cart

    def _add_line(self, sku: str, quantity: int) -> None:
        sku = sku.strip().upper()[:40]
        quantity = max(0, min(int(quantity), MAX_QUANTITY))
        if not sku or quantity <= 0:
            return
        for item in self.cart_items:
            if item.sku == sku:
                item.quantity = min(item.quantity + quantity, MAX_QUANTITY)
                self.cart_items = list(self.cart_items)
                return
        if len(self.cart_items) >= MAX_CART_LINES:
            self.input_notice = f"A cart holds at most {MAX_CART_LINES} lines."
            return
        self.cart_items = [*self.cart_items, CartItem(sku, quantity)]

    @rx.event
    async def set_quantity(self, sku: str, value: str) -> None:
        """Change a cart line's quantity; 0 or empty removes it."""
        actor = self.require(*ORDERING_ROLES)
        text = str(value).strip()
        if text and not text.isdigit():
            return
        quantity = min(int(text or 0), MAX_QUANTITY)
        if quantity == 0:
            self.cart_items = [item for item in self.cart_items if item.sku != sku]
        else:
            self.cart_items = [
                CartItem(item.sku, quantity if item.sku == sku else item.quantity)
                for item in self.cart_items
            ]
        await self._check_cart_async(actor)

    @rx.event
    async def remove_line(self, sku: str) -> None:
        """Remove a line from the cart."""
        actor = self.require(*ORDERING_ROLES)
        self.cart_items = [item for item in self.cart_items if item.sku != sku]
        await self._check_cart_async(actor)

    @rx.event
    async def clear_cart(self) -> None:
        """Empty the cart and start a new order."""
        actor = self.require(*ORDERING_ROLES)
        self._reset_cart()
        self.matches = []
        await self._check_cart_async(actor)

    @rx.event
    def set_delivery_day(self, value: str) -> None:
        """Set the requested delivery day (YYYY-MM-DD)."""
        self.require(*ORDERING_ROLES)
        try:
            chosen = date.fromisoformat(str(value))
        except ValueError:
            return
        self.delivery_day = max(chosen, next_delivery_day()).isoformat()

    def _reset_cart(self) -> None:
        self.cart_items = []
        self.submit_key = new_submit_key()
        self.delivery_day = next_delivery_day().isoformat()

    async def _check_cart_async(self, actor: Actor) -> None:
        check = await asyncio.to_thread(
            read_cart, actor, self._dealer_for(actor), list(self.cart_items)
        )
        self._apply_check(check)

    def _check_cart(self, actor: Actor) -> None:
        self._apply_check(read_cart(actor, self._dealer_for(actor), list(self.cart_items)))

    def _dealer_for(self, actor: Actor) -> int | None:
        # Dealer staff always order for their own dealer; the state's id is ignored for them.
        return actor.dealer_id if actor.role == Role.DEALER else (self.dealer_id or None)

    def _apply_check(self, check: cart.CartCheck) -> None:
        # Every change of the cart ends in a check, so this is where the dealer's copy is saved.
        if not self.desk_mode and self.dealer_id:
            self.saved_cart = encode_saved_cart(self.dealer_id, self.cart_items)
        self.cart_rows = [cart_row(line) for line in check.lines]
        self.cart_total = money(check.total_cents)
        self.credit_limit = money(check.credit_limit_cents)
        self.available_credit = money(check.available_credit_cents)
        self.credit_after = money(check.credit_after_cents)
        self.over_credit = check.over_credit
        self.cart_ok = check.ok

        # Line problems show on their lines; the summary adds the rest (the credit limit).
        broken = sum(1 for line in check.lines if not line.ok)
        self.cart_problems = [
            problem["message"] for problem in check.problems if "sku" not in problem
        ]
        if broken:
            self.cart_problems.insert(
                0,
                f"{broken} line{'s' if broken != 1 else ''} "
                f"need{'s' if broken == 1 else ''} a change before ordering.",
            )

    # Submit

    @rx.event
    async def place_order(self):
        """Submit the cart as an order, once: a repeated click returns the same order."""
        actor = self.require(*ORDERING_ROLES)
        if not self.cart_items:
            self._set_notice("The cart is empty. Add lines or reorder a past order.", "error")
            return None
        dealer_id = self._dealer_for(actor)
        entered_by = actor.username if actor.role != Role.DEALER else ""
        request = dict(
            lines=[LineRequest(item.sku, item.quantity) for item in self.cart_items],
            dealer_id=dealer_id,
            delivery_day=date.fromisoformat(self.delivery_day or next_delivery_day().isoformat()),
            # Keys are scoped to the dealer, like the API's, so they never collide across tenants.
            idempotency_key=f"web-{dealer_id}:{self.submit_key}",
            entered_by=entered_by,
        )
        try:
            cart.ordering_dealer_id(actor, dealer_id)
            self.submitting = True
            order = await asyncio.to_thread(submit_order, get_engine(), actor, **request)
        except DistroError as error:
            logger.info("Order submit for dealer %s rejected: %s", dealer_id, error.code)
            self._set_notice(error.message, "error")
            await self._check_cart_async(actor)
            return None
        finally:
            self.submitting = False

        logger.info("Order %s placed for dealer %s by %s", order.number, dealer_id, actor.username)
        self._set_notice(
            f"Order {order.number} confirmed: {len(self.cart_items)} lines, "
            f"total {money(order.total_cents)}.",
            "success",
        )
        self._reset_cart()
        self.matches = []
        self._check_cart(actor)
        self.selected_order_id = order.id
        self.tab = "orders"
        self._load_orders(actor)
        self._load_selected(actor)
        self._load_account(actor)
        return None

    def _set_notice(self, message: str, kind: str) -> None:
        self.notice = message
        self.notice_kind = kind

    # Orders and tracking

    @rx.event
    async def reorder(self, order_id: int):
        """Fill the cart with a past order's lines, ready to place again."""
        actor = self.require(*ORDERING_ROLES)
        with session_scope() as session:
            order, lines = dealer_orders.reorder_lines(session, actor, int(order_id))
        if order.dealer_id != self._dealer_for(actor):
            return None
        self._reset_cart()
        for line in lines:
            self._add_line(line.sku, line.quantity)
        self.matches = []
        self.tab = "order"
        self._set_notice(f"Cart filled from {order.number}. Check it and place the order.", "info")
        await self._check_cart_async(actor)
        return None

    @rx.event
    def set_history_filter(self, value: str) -> None:
        """Show open, delivered, problem or all orders."""
        actor = self.require(*ORDERING_ROLES)
        self.history_filter = value if value in dealer_orders.HISTORY_FILTERS else "all"
        self._load_orders(actor)

    @rx.event
    def search_orders(self, value: str) -> None:
        """Find orders by part of their number."""
        actor = self.require(*ORDERING_ROLES)
        self.history_search = str(value)[:20]
        self._load_orders(actor)

    @rx.event
    def select_order(self, order_id: int) -> None:
        """Show one order's lines and timeline."""
        actor = self.require(*ORDERING_ROLES)
        self.selected_order_id = int(order_id)
        self.tab = "orders"
        self._load_selected(actor)

    @rx.event
    def poll(self) -> None:
        """Reload what the page shows when an event about this dealer's orders was written."""
        latest = self._latest_event_id()
        if latest == self.seen_event_id or not self.dealer_id:
            return
        actor = self.require(*ORDERING_ROLES)
        with session_scope() as session:
            relevant = feed.visible_events_after(session, actor, self.seen_event_id, limit=1)
        self.seen_event_id = latest
        if actor.role == Role.DEALER and not relevant:
            return
        self._load_orders(actor)
        self._load_selected(actor)
        if self.tab == "account":
            self._load_account(actor)
        if self.desk_mode:
            self._load_holds(actor)

    def _latest_event_id(self) -> int:
        with session_scope() as session:
            return latest_event_id(session)

    def _load_orders(self, actor: Actor) -> None:
        if not self.dealer_id:
            self.orders = []
            self.recent_orders = []
            return
        with session_scope() as session:
            rows = dealer_orders.order_history(
                session,
                actor,
                self._dealer_for(actor) or 0,
                status_filter=self.history_filter,
                search=self.history_search,
                limit=HISTORY_PAGE_SIZE,
            )
            recent = dealer_orders.order_history(
                session, actor, self._dealer_for(actor) or 0, limit=RECENT_ORDERS
            )
        self.orders = [order_row(order) for order in rows]
        self.recent_orders = [order_row(order) for order in recent]

    def _load_selected(self, actor: Actor) -> None:
        if not self.selected_order_id:
            return
        with session_scope() as session:
            view = dealer_orders.order_view(session, actor, self.selected_order_id)
        order = view.order
        self.selected_number = order.number
        self.selected_status = order.status
        self.selected_status_text = status_label(order.status)
        self.selected_total = money(order.total_cents)
        self.selected_delivery_day = order.delivery_day.isoformat()
        self.selected_lines = [
            LineRow(
                sku, name, line.quantity, money(line.unit_price_cents), money(line.line_total_cents)
            )
            for line, sku, name in view.lines
        ]
        self.steps = [step_row(step) for step in view.steps]
        self.selected_code = view.confirmation_code or ""

    # Account

    def _load_account(self, actor: Actor) -> None:
        dealer_id = self._dealer_for(actor)
        if not dealer_id:
            return
        with session_scope() as session:
            summary = billing.account_summary(session, actor, dealer_id)
            invoices = billing.list_invoices(session, actor, dealer_id, limit=20)
            payments = billing.list_payments(session, actor, dealer_id, limit=20)
        self.balance = money(summary.unpaid_cents)
        self.open_orders_value = money(summary.open_orders_cents)
        self.open_orders_count = summary.open_orders
        self.overdue = money(summary.overdue_cents)
        self.exposure = money(summary.exposure_cents)
        self.credit_limit = money(summary.credit_limit_cents)
        self.available_credit = money(summary.available_credit_cents)
        self.invoices = [
            InvoiceRow(
                number=invoice.number,
                order_number=number,
                issued=short_day(invoice.issued_at),
                due=short_day(invoice.due_at),
                amount=money(invoice.amount_cents),
                open_amount=money(invoice.amount_cents - invoice.paid_cents),
            )
            for invoice, number in invoices
        ]
        self.payments = [
            PaymentRow(short_day(p.received_at), p.reference, money(p.amount_cents), p.recorded_by)
            for p in payments
        ]

    @rx.event
    def download_statement(self):
        """Download the dealer's statement of invoices and payments as CSV."""
        actor = self.require(*ORDERING_ROLES)
        dealer_id = self._dealer_for(actor)
        if not dealer_id:
            return None
        with session_scope() as session:
            text = billing.statement_csv(session, actor, dealer_id)
        return rx.download(
            data=text,
            filename=f"statement-{dealer_id}-{local_today().isoformat()}.csv",
            mime_type="text/csv",
        )

    # Operations: payments and credit holds

    @rx.event
    def record_payment(self, form_data: dict) -> None:
        """Record a payment received from the dealer on the page (operations only)."""
        actor = self.require(*DESK_ROLES)
        amount_text = str(form_data.get("amount", "")).strip().replace(",", "")
        reference = str(form_data.get("reference", ""))
        try:
            amount_cents = round(float(amount_text) * 100)
        except ValueError:
            self._set_notice(
                f"Amount {amount_text!r} is not a number; enter it like 1250.00.", "error"
            )
            return
        try:
            with session_scope() as session:
                billing.record_payment(session, actor, self.dealer_id, amount_cents, reference)
        except DistroError as error:
            self._set_notice(error.message, "error")
            return
        self._set_notice(f"Payment of {money(amount_cents)} recorded.", "success")
        self._load_account(actor)
        self._check_cart(actor)

    @rx.event
    def approve_hold(self, order_id: int) -> None:
        """Approve an order on credit hold (managers)."""
        actor = self.require(*DESK_ROLES)
        try:
            with session_scope() as session:
                order = credit.approve_credit_hold(session, actor, int(order_id))
        except DistroError as error:
            self._set_notice(error.message, "error")
            return
        self._set_notice(f"Order {order.number} approved and sent to dispatch.", "success")
        self._load_holds(actor)

    @rx.event
    def reject_hold(self, order_id: int) -> None:
        """Reject an order on credit hold (managers); it is cancelled."""
        actor = self.require(*DESK_ROLES)
        try:
            with session_scope() as session:
                order = credit.reject_credit_hold(
                    session, actor, int(order_id), "Rejected at the credit review"
                )
        except DistroError as error:
            self._set_notice(error.message, "error")
            return
        self._set_notice(f"Order {order.number} rejected and cancelled.", "success")
        self._load_holds(actor)

    @rx.event
    async def place_on_hold(self):
        """Place the cart over the credit limit as a credit hold for a manager to decide."""
        actor = self.require(*DESK_ROLES)
        if not self.cart_items or not self.dealer_id:
            return None
        try:
            order = await asyncio.to_thread(
                submit_order,
                get_engine(),
                actor,
                lines=[LineRequest(item.sku, item.quantity) for item in self.cart_items],
                dealer_id=self.dealer_id,
                delivery_day=date.fromisoformat(
                    self.delivery_day or next_delivery_day().isoformat()
                ),
                idempotency_key=f"web-{self.dealer_id}:{self.submit_key}",
                entered_by=actor.username,
                allow_credit_hold=True,
            )
        except DistroError as error:
            self._set_notice(error.message, "error")
            return None
        self._set_notice(f"Order {order.number} placed on credit hold for a manager.", "success")
        self._reset_cart()
        self._check_cart(actor)
        self._load_orders(actor)
        self._load_holds(actor)
        return None

    def _load_holds(self, actor: Actor) -> None:
        with session_scope() as session:
            holds = credit.list_credit_holds(session, actor)
        self.holds = [
            HoldRow(
                order_id=hold.order_id,
                number=hold.number,
                dealer=f"{hold.dealer_code} · {hold.dealer_name}",
                total=money(hold.total_cents),
                limit=money(hold.credit_limit_cents),
                exposure=money(hold.exposure_cents),
                entered_by=hold.entered_by,
            )
            for hold in holds
        ]
