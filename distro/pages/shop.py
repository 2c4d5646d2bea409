"""The customer's shop: the serving dealer's stock at consumer prices, a cart and my orders.

One column on a phone; from medium widths the products sit beside the cart, and the order
list beside the selected order's timeline.
"""

from __future__ import annotations

import reflex as rx

from distro.components.badges import status_badge
from distro.components.layout import panel
from distro.components.ticker import ticker
from distro.pages.ordering_views import (
    NUMBERS,
    TIMES,
    cart_problem_list,
    delivery_day_input,
    order_detail_panel,
)
from distro.state.ordering_rows import OrderRow
from distro.state.shop import ShopState
from distro.state.shop_rows import ProductRow, ShopCartRow

ROUTE = "/shop"

State = ShopState


def header() -> rx.Component:
    """Render the top bar: product name, the customer's name and Sign out."""
    return rx.hstack(
        rx.icon("truck", size=18, color="white"),
        rx.text("Distro", size="3", weight="bold", color="white"),
        rx.spacer(),
        rx.text(State.customer_name, size="2", color="white", trim="both", id="shop-customer"),
        rx.button(
            "Sign out",
            size="1",
            variant="ghost",
            color_scheme="gray",
            style={"color": "white"},
            on_click=State.sign_out,
            id="sign-out",
        ),
        align="center",
        spacing="2",
        padding="0 14px",
        height="44px",
        background="var(--slate-12)",
        width="100%",
    )


def dealer_heading() -> rx.Component:
    """Render who delivers, or why the customer cannot order yet."""
    return rx.vstack(
        rx.cond(
            State.dealer_name != "",
            rx.heading("Delivered by ", State.dealer_name, size="5", id="shop-dealer"),
            rx.heading("Shop", size="5"),
        ),
        rx.cond(
            State.closed_reason != "",
            rx.callout(
                State.closed_reason, icon="info", color_scheme="gray", size="1", id="shop-closed"
            ),
        ),
        spacing="2",
        width="100%",
    )


def product_row(row: ProductRow) -> rx.Component:
    """Render one product: name, how it is sold, price, a quantity and Add."""
    return rx.form(
        rx.flex(
            rx.vstack(
                rx.text(row.name, size="2", weight="medium"),
                rx.text(
                    row.pack_note, " · ", row.available, " in stock", size="1", color_scheme="gray"
                ),
                spacing="0",
                flex="1 1 180px",
                min_width="0",
            ),
            rx.hstack(
                rx.text(row.price, size="2", weight="medium", style=NUMBERS),
                rx.el.input(type="hidden", name="sku", value=row.sku),
                rx.input(
                    name="quantity",
                    default_value=row.start_quantity.to_string(),
                    type="number",
                    # No `step`: the server's pack-size message, with its "Make it" button, is
                    # clearer than the browser's own validation tooltip.
                    min="1",
                    width="72px",
                    aria_label="Quantity",
                    class_name="product-qty",
                ),
                rx.button(
                    rx.icon("plus", size=14),
                    "Add",
                    type="submit",
                    size="2",
                    class_name="add-product",
                ),
                spacing="2",
                align="center",
                margin_left="auto",
            ),
            gap="8px",
            wrap="wrap",
            align="center",
            width="100%",
        ),
        on_submit=State.add_to_cart,
        reset_on_submit=True,
        width="100%",
        padding="8px 12px",
        border_bottom="1px solid var(--gray-4)",
        class_name="product",
        custom_attrs={"data-sku": row.sku},
    )


def products_panel() -> rx.Component:
    """Render the products the dealer has in stock now."""
    return panel(
        "In stock now",
        rx.cond(
            State.products.length() > 0,
            rx.box(rx.foreach(State.products, product_row), id="shop-products"),
            rx.text("Nothing to order right now.", size="2", color_scheme="gray", padding="12px"),
        ),
    )


def cart_row(row: ShopCartRow) -> rx.Component:
    """Render one cart line: product, quantity, prices and what to change."""
    return rx.vstack(
        rx.hstack(
            rx.text(row.name, size="2", flex="1", min_width="0"),
            rx.input(
                default_value=row.quantity.to_string(),
                key=row.sku + "-" + row.quantity.to_string(),
                type="number",
                min="0",
                width="68px",
                on_blur=lambda value: State.set_quantity(row.sku, value),
                aria_label="Quantity",
                class_name="cart-qty",
            ),
            rx.vstack(
                rx.text(TIMES + " ", row.unit_price, size="1", color_scheme="gray", style=NUMBERS),
                rx.text(row.line_total, size="2", weight="medium", style=NUMBERS),
                spacing="0",
                align="end",
                min_width="72px",
            ),
            rx.icon_button(
                rx.icon("trash-2", size=14),
                variant="ghost",
                color_scheme="gray",
                on_click=State.remove_line(row.sku),
                aria_label="Remove line",
            ),
            spacing="2",
            align="center",
            width="100%",
        ),
        rx.cond(
            row.problem != "",
            rx.hstack(
                rx.text(row.problem, size="1", color_scheme="red", class_name="line-problem"),
                rx.cond(
                    row.round_to > 0,
                    rx.button(
                        "Make it ",
                        row.round_to,
                        size="1",
                        variant="soft",
                        color_scheme="amber",
                        on_click=State.set_quantity(row.sku, row.round_to.to_string()),
                    ),
                ),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
        ),
        spacing="1",
        width="100%",
        padding="8px 12px",
        border_bottom="1px solid var(--gray-4)",
        class_name="cart-line",
        custom_attrs={"data-sku": row.sku, "data-ok": row.ok.to_string()},
    )


def notice() -> rx.Component:
    """Render the result of the last submit or action."""
    return rx.cond(
        State.notice != "",
        rx.callout(
            State.notice,
            icon=rx.cond(State.notice_kind == "error", "triangle_alert", "circle_check"),
            color_scheme=rx.match(
                State.notice_kind, ("error", "red"), ("success", "green"), "blue"
            ),
            size="1",
            width="100%",
            id="shop-notice",
        ),
    )


def cart_panel() -> rx.Component:
    """Render the cart with its total, the delivery day and Place order."""
    return panel(
        rx.hstack(
            rx.text("Cart", size="2", weight="bold"),
            rx.badge(State.cart_count, variant="soft"),
            spacing="2",
        ),
        rx.cond(
            State.cart_count > 0,
            rx.box(rx.foreach(State.cart_rows, cart_row), id="cart-lines"),
            rx.text("Empty. Add a product.", size="2", color_scheme="gray", padding="12px"),
        ),
        rx.vstack(
            rx.hstack(
                rx.text("Total", size="2", weight="bold"),
                rx.spacer(),
                rx.text(State.cart_total, size="3", weight="bold", style=NUMBERS, id="cart-total"),
                width="100%",
            ),
            cart_problem_list(State),
            delivery_day_input(State, State.earliest_day),
            rx.button(
                rx.icon("check", size=16),
                "Place order",
                size="3",
                color_scheme="green",
                disabled=~State.cart_ok,
                loading=State.submitting,
                on_click=State.place_order,
                id="place-order",
                width="100%",
            ),
            notice(),
            spacing="2",
            padding="10px 12px",
            width="100%",
        ),
        id="cart-panel",
    )


def order_row(row: OrderRow) -> rx.Component:
    """Render one of my orders; a click shows its timeline."""
    return rx.hstack(
        rx.vstack(
            rx.text(row.number, size="2", weight="medium"),
            rx.text(
                "placed ",
                row.placed,
                " · deliver ",
                row.delivery_day,
                size="1",
                color_scheme="gray",
            ),
            spacing="0",
            flex="1",
            min_width="0",
        ),
        rx.text(row.total, size="2", style=NUMBERS),
        status_badge(row.status, row.status_text),
        spacing="2",
        align="center",
        width="100%",
        padding="6px 12px",
        border_bottom="1px solid var(--gray-4)",
        cursor="pointer",
        background=rx.cond(
            row.order_id == State.selected_order_id, "var(--accent-3)", "transparent"
        ),
        on_click=State.select_order(row.order_id),
        class_name="my-order",
        custom_attrs={"data-order": row.number, "data-status": row.status},
    )


def order_detail() -> rx.Component:
    """Render the customer's selected order: status, the code for the rider, timeline and lines."""
    return order_detail_panel(State, "Give this code to the rider: ")


def orders_section() -> rx.Component:
    """Render my orders and the selected order's tracking."""
    return rx.grid(
        panel(
            "My orders",
            rx.cond(
                State.orders.length() > 0,
                rx.box(rx.foreach(State.orders, order_row), max_height="480px", overflow_y="auto"),
                rx.text("No orders yet.", size="2", color_scheme="gray", padding="12px"),
            ),
            id="my-orders",
        ),
        order_detail(),
        columns={"initial": "1", "md": "2"},
        gap="12px",
        width="100%",
    )


def shop_page() -> rx.Component:
    """Render the customer's shop."""
    return rx.box(
        ticker(State.poll, 1500),
        header(),
        rx.vstack(
            dealer_heading(),
            rx.grid(
                products_panel(),
                cart_panel(),
                columns={"initial": "1", "md": "2"},
                gap="12px",
                width="100%",
                align_items="start",
            ),
            orders_section(),
            spacing="3",
            width="100%",
            max_width="1100px",
            margin="0 auto",
            padding="12px 12px 40px",
        ),
        min_height="100vh",
        background="var(--gray-2)",
    )


def register(app: rx.App) -> None:
    """Add the customer's shop to `app`."""
    app.add_page(shop_page, route=ROUTE, title="Shop · Distro", on_load=ShopState.load_shop)
