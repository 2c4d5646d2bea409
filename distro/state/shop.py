"""State of the customer's shop (/shop): the dealer's stock on offer, the cart and my orders.

The customer and their dealer always come from the session. The browser sends only SKUs,
quantities, a delivery day and order ids, and the backbone checks each of them. The cart is
priced and checked on the server after every change, and again when the order is placed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date

import reflex as rx

from distro.backbone import dealer_orders, feed, shop
from distro.backbone.actors import Actor
from distro.backbone.errors import DistroError
from distro.backbone.events import latest_event_id
from distro.backbone.models import Role
from distro.backbone.orders import LineRequest
from distro.db import get_engine, session_scope
from distro.formatting import status_label
from distro.state.auth import AuthState
from distro.state.ordering import MAX_CART_LINES, MAX_QUANTITY, new_submit_key
from distro.state.ordering_rows import (
    CartItem,
    LineRow,
    OrderRow,
    StepRow,
    money,
    order_row,
    step_row,
)
from distro.state.shop_rows import ProductRow, ShopCartRow, product_row, shop_cart_row

logger = logging.getLogger(__name__)

ORDERS_SHOWN = 30


def check_cart(actor: Actor, items: list[CartItem]) -> shop.ShopCartCheck:
    """Check the cart against consumer prices and the dealer's stock; runs in a worker thread."""
    with session_scope() as session:
        return shop.check_cart(
            session, actor, [LineRequest(item.sku, item.quantity) for item in items]
        )


class ShopState(AuthState):
    """The customer's shop: products in stock, cart, delivery day, orders and tracking."""

    customer_name: str = ""
    dealer_name: str = ""
    closed_reason: str = ""
    products: list[ProductRow] = []

    cart_items: list[CartItem] = []
    cart_rows: list[ShopCartRow] = []
    cart_total: str = "0.00"
    cart_ok: bool = False
    cart_problems: list[str] = []
    submit_key: str = ""
    delivery_day: str = ""
    earliest_day: str = ""
    submitting: bool = False
    placed_number: str = ""
    """The order the last submit placed, until the cart changes; a repeated click keeps it."""

    notice: str = ""
    notice_kind: str = "info"

    orders: list[OrderRow] = []
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

    @rx.var
    def cart_count(self) -> int:
        """Lines in the cart."""
        return len(self.cart_items)

    # Page load

    @rx.event
    def load_shop(self):
        """Open the shop of the signed-in customer."""
        if (redirect := self.redirect_unless(Role.CUSTOMER)) is not None:
            return redirect
        actor = self.require(Role.CUSTOMER)
        with session_scope() as session:
            self.seen_event_id = latest_event_id(session)
        self.notice = ""
        self.placed_number = ""
        self.selected_order_id = 0
        self.steps = []
        self._reset_cart()
        self._load_front(actor)
        self._load_orders(actor)
        self._apply_check(check_cart(actor, self.cart_items))
        return None

    def _load_front(self, actor: Actor) -> None:
        with session_scope() as session:
            front = shop.shop_front(session, actor)
        self.customer_name = front.customer_name
        self.dealer_name = front.dealer_name
        self.closed_reason = front.closed_reason
        self.products = [product_row(product) for product in front.products]

    # Cart

    @rx.event
    async def add_to_cart(self, form_data: dict) -> None:
        """Add the quantity typed next to a product to the cart."""
        actor = self.require(Role.CUSTOMER)
        sku = str(form_data.get("sku", "")).strip().upper()[:40]
        text = str(form_data.get("quantity", "")).strip()
        if not sku:
            return
        if not text.isdigit() or int(text) <= 0:
            self._set_notice(f"Quantity {text!r} is not a whole number above 0; type one.", "error")
            return
        self._add_line(sku, int(text))
        await self._check_async(actor)

    def _add_line(self, sku: str, quantity: int) -> None:
        self.placed_number = ""
        quantity = min(quantity, MAX_QUANTITY)
        for item in self.cart_items:
            if item.sku == sku:
                item.quantity = min(item.quantity + quantity, MAX_QUANTITY)
                self.cart_items = list(self.cart_items)
                return
        if len(self.cart_items) >= MAX_CART_LINES:
            self._set_notice(f"A cart holds at most {MAX_CART_LINES} lines.", "error")
            return
        self.cart_items = [*self.cart_items, CartItem(sku, quantity)]

    @rx.event
    async def set_quantity(self, sku: str, value: str) -> None:
        """Change a cart line's quantity; 0 or empty removes the line."""
        actor = self.require(Role.CUSTOMER)
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
        await self._check_async(actor)

    @rx.event
    async def remove_line(self, sku: str) -> None:
        """Remove a line from the cart."""
        actor = self.require(Role.CUSTOMER)
        self.cart_items = [item for item in self.cart_items if item.sku != sku]
        await self._check_async(actor)

    @rx.event
    def set_delivery_day(self, value: str) -> None:
        """Set the requested delivery day (YYYY-MM-DD); a day before tomorrow becomes tomorrow."""
        self.require(Role.CUSTOMER)
        try:
            chosen = date.fromisoformat(str(value))
        except ValueError:
            return
        self.delivery_day = max(chosen, shop.earliest_delivery_day()).isoformat()

    def _reset_cart(self) -> None:
        self.cart_items = []
        self.submit_key = new_submit_key()
        earliest = shop.earliest_delivery_day().isoformat()
        self.earliest_day = earliest
        self.delivery_day = earliest

    async def _check_async(self, actor: Actor) -> None:
        self.placed_number = ""
        self._apply_check(await asyncio.to_thread(check_cart, actor, list(self.cart_items)))

    def _apply_check(self, check: shop.ShopCartCheck) -> None:
        self.cart_rows = [shop_cart_row(line) for line in check.lines]
        self.cart_total = money(check.total_cents)
        self.cart_ok = check.ok
        # Line problems show on their lines, and the list below the cart shows the others.
        self.cart_problems = [p["message"] for p in check.problems if "sku" not in p]

    # Submit

    @rx.event
    async def place_order(self):
        """Place the cart as an order, once: a repeated click returns the same order."""
        actor = self.require(Role.CUSTOMER)
        if not self.cart_items:
            if not self.placed_number:
                self._set_notice("The cart is empty. Add a product first.", "error")
            return
        self.submitting = True
        yield
        lines = [LineRequest(item.sku, item.quantity) for item in self.cart_items]
        try:
            order = await asyncio.to_thread(
                shop.place_customer_order,
                get_engine(),
                actor,
                lines,
                date.fromisoformat(self.delivery_day or shop.earliest_delivery_day().isoformat()),
                self.submit_key,
            )
        except DistroError as error:
            logger.info(
                "Shop order by %s (customer %s) rejected: %s",
                actor.username,
                actor.customer_id,
                error.code,
            )
            self.submitting = False
            self._set_notice(error.message, "error")
            await self._check_async(actor)
            return

        logger.info("Shop order %s placed by %s", order.number, actor.username)
        self._set_notice(
            f"Order {order.number} confirmed: total {money(order.total_cents)}, "
            f"delivery on {order.delivery_day.isoformat()}.",
            "success",
        )
        self._reset_cart()
        self._apply_check(check_cart(actor, self.cart_items))
        self.placed_number = order.number
        self.submitting = False
        self.selected_order_id = order.id
        self._load_front(actor)
        self._load_orders(actor)
        self._load_selected(actor)

    def _set_notice(self, message: str, kind: str) -> None:
        self.notice = message
        self.notice_kind = kind

    # My orders

    @rx.event
    def select_order(self, order_id: int) -> None:
        """Show one of my orders with its lines, timeline and confirmation code."""
        actor = self.require(Role.CUSTOMER)
        self.selected_order_id = int(order_id)
        self._load_selected(actor)

    @rx.event
    def poll(self) -> None:
        """Reload my orders when an event about one of them was written since the last look."""
        actor = self.require(Role.CUSTOMER)
        with session_scope() as session:
            latest = latest_event_id(session)
            if latest == self.seen_event_id:
                return
            relevant = feed.visible_events_after(session, actor, self.seen_event_id, limit=1)
        self.seen_event_id = latest
        if not relevant:
            return
        # A cancelled or returned order gives its units back, so the offer is read again too.
        self._load_front(actor)
        self._load_orders(actor)
        self._load_selected(actor)

    def _load_orders(self, actor: Actor) -> None:
        with session_scope() as session:
            orders = shop.customer_orders(session, actor, limit=ORDERS_SHOWN)
        self.orders = [order_row(order) for order in orders]

    def _load_selected(self, actor: Actor) -> None:
        if not self.selected_order_id:
            return
        try:
            with session_scope() as session:
                view = dealer_orders.order_view(session, actor, self.selected_order_id)
        except DistroError:
            # The denial is logged where it was raised; the page shows no order instead.
            self._clear_selected()
            raise
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

    def _clear_selected(self) -> None:
        self.selected_order_id = 0
        self.selected_number = ""
        self.selected_status = ""
        self.selected_lines = []
        self.steps = []
        self.selected_code = ""
