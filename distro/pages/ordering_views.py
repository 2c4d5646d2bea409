"""The parts of the order desk that the dealer page and the operations desk share.

Every list is a stack of compact rows rather than a wide table, so the page works on a
phone as well as at a desk.
"""

from __future__ import annotations

import reflex as rx

from distro.components.badges import status_badge
from distro.components.layout import panel
from distro.components.ticker import ticker
from distro.state.ordering import OrderingState
from distro.state.ordering_rows import (
    CartRow,
    CatalogRow,
    InvoiceRow,
    LineRow,
    MatchRow,
    OrderRow,
    PaymentRow,
    StepRow,
)

State = OrderingState

NUMBERS = {"font_variant_numeric": "tabular-nums", "white_space": "nowrap"}

CSV_UPLOAD_ID = "order-csv"

TIMES = "\u00d7"
"""The multiplication sign between a quantity and a unit price."""


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
            id="order-notice",
        ),
    )


def quick_add_form() -> rx.Component:
    """Render the one-line quick add: SKU or name, quantity, Add."""
    return rx.form(
        rx.hstack(
            rx.input(
                name="item",
                placeholder="SKU or product name",
                id="quick-item",
                flex="1",
                min_width="0",
                auto_complete="off",
            ),
            rx.input(
                name="quantity",
                placeholder="Qty",
                id="quick-qty",
                type="number",
                min="1",
                width="80px",
            ),
            rx.button(rx.icon("plus", size=15), "Add", type="submit", id="quick-add"),
            spacing="2",
            width="100%",
        ),
        on_submit=State.quick_add,
        reset_on_submit=True,
        width="100%",
    )


def paste_form() -> rx.Component:
    """Render the paste box and the CSV upload."""
    return rx.vstack(
        rx.form(
            rx.vstack(
                rx.text_area(
                    name="paste",
                    placeholder=(
                        "Paste lines, e.g.\nSKU-104 20\n20 x cola 0.33 L can\n"
                        "Orange juice 1 L carton - 5 packs"
                    ),
                    rows="4",
                    width="100%",
                    id="paste-lines",
                ),
                rx.hstack(
                    rx.button(
                        rx.icon("clipboard-paste", size=15),
                        "Read lines",
                        type="submit",
                        variant="soft",
                        id="paste-submit",
                    ),
                    rx.upload.root(
                        rx.button(
                            rx.icon("file-up", size=15),
                            "Upload CSV",
                            variant="soft",
                            color_scheme="gray",
                            type="button",
                        ),
                        id=CSV_UPLOAD_ID,
                        accept={"text/csv": [".csv"], "text/plain": [".txt"]},
                        max_files=1,
                        multiple=False,
                        no_drag=True,
                        on_drop=State.upload_csv(rx.upload_files(upload_id=CSV_UPLOAD_ID)),
                    ),
                    spacing="2",
                    wrap="wrap",
                ),
                spacing="2",
                width="100%",
            ),
            on_submit=State.paste_lines,
            reset_on_submit=True,
            width="100%",
        ),
        rx.cond(
            State.input_notice != "",
            rx.text(State.input_notice, size="1", color_scheme="gray", id="input-notice"),
        ),
        spacing="2",
        width="100%",
    )


def match_row(row: MatchRow) -> rx.Component:
    """Render one line to confirm: what was typed, the likely products and a quantity."""
    return rx.form(
        rx.vstack(
            rx.text("“", row.text, "”", size="1", color_scheme="gray"),
            rx.cond(
                row.candidates.length() > 0,
                rx.hstack(
                    rx.el.input(type="hidden", name="key", value=row.key),
                    rx.select.root(
                        rx.select.trigger(placeholder="Which product?", flex="1", min_width="0"),
                        rx.select.content(
                            rx.foreach(
                                row.candidates,
                                lambda candidate: rx.select.item(
                                    candidate.label, value=candidate.sku
                                ),
                            )
                        ),
                        name="sku",
                        default_value=row.candidates[0].sku,
                        size="2",
                    ),
                    rx.input(
                        name="quantity",
                        default_value=rx.cond(row.quantity > 0, row.quantity.to_string(), ""),
                        placeholder="Qty",
                        type="number",
                        width="72px",
                    ),
                    rx.button("Add", type="submit", size="2", class_name="confirm-match"),
                    rx.icon_button(
                        rx.icon("x", size=14),
                        type="button",
                        variant="ghost",
                        color_scheme="gray",
                        on_click=State.dismiss_match(row.key),
                    ),
                    spacing="2",
                    width="100%",
                    align="center",
                ),
                rx.hstack(
                    rx.text("No product matches this line.", size="1", color_scheme="red"),
                    rx.spacer(),
                    rx.button(
                        "Dismiss",
                        type="button",
                        size="1",
                        variant="ghost",
                        color_scheme="gray",
                        on_click=State.dismiss_match(row.key),
                    ),
                    width="100%",
                ),
            ),
            spacing="1",
            width="100%",
            padding="8px 12px",
            border_bottom="1px solid var(--gray-4)",
        ),
        on_submit=State.confirm_match,
        width="100%",
    )


def matches_panel() -> rx.Component:
    """Render the lines whose product or quantity needs the dealer's confirmation."""
    return rx.cond(
        State.matches.length() > 0,
        panel(
            rx.hstack(
                rx.text("Check these lines", size="2", weight="bold"),
                rx.badge(State.matches.length(), color_scheme="amber", variant="soft"),
                spacing="2",
            ),
            rx.foreach(State.matches, match_row),
            id="matches-panel",
        ),
    )


def cart_row(row: CartRow) -> rx.Component:
    """Render one cart line: product, quantity, prices and what is wrong with it."""
    return rx.vstack(
        rx.hstack(
            rx.vstack(
                rx.text(row.sku, size="2", weight="bold"),
                rx.text(row.name, size="1", color_scheme="gray", trim="both"),
                spacing="0",
                flex="1",
                min_width="0",
            ),
            rx.input(
                default_value=row.quantity.to_string(),
                key=row.sku + "-" + row.quantity.to_string(),
                type="number",
                min="0",
                width="76px",
                on_blur=lambda value: State.set_quantity(row.sku, value),
                class_name="cart-qty",
            ),
            rx.vstack(
                rx.text(TIMES + " ", row.unit_price, size="1", color_scheme="gray", style=NUMBERS),
                rx.text(row.line_total, size="2", weight="medium", style=NUMBERS),
                spacing="0",
                align="end",
                min_width="84px",
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
        rx.hstack(
            rx.text(row.pack_note, size="1", color_scheme="gray"),
            rx.text("· ", row.available, " available", size="1", color_scheme="gray"),
            rx.cond(
                row.problem != "",
                rx.text(row.problem, size="1", color_scheme="red", class_name="line-problem"),
            ),
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
        spacing="1",
        width="100%",
        padding="8px 12px",
        border_bottom="1px solid var(--gray-4)",
        class_name="cart-line",
        custom_attrs={"data-sku": row.sku, "data-ok": row.ok.to_string()},
    )


def figure(label: str, value: rx.Var, **props) -> rx.Component:
    """Render a label and an amount on one line."""
    return rx.hstack(
        rx.text(label, size="2", color_scheme="gray"),
        rx.spacer(),
        rx.text(value, size="2", weight="medium", style=NUMBERS, **props),
        width="100%",
    )


def cart_panel() -> rx.Component:
    """Render the cart with its totals, credit, delivery day and the submit button."""
    return panel(
        rx.hstack(
            rx.text("Cart", size="2", weight="bold"),
            rx.badge(State.cart_count, variant="soft"),
            spacing="2",
        ),
        rx.cond(
            State.cart_count > 0,
            rx.box(rx.foreach(State.cart_rows, cart_row), id="cart-lines"),
            rx.text(
                "Empty. Add a SKU above, paste a list, or reorder a past order.",
                size="2",
                color_scheme="gray",
                padding="12px",
            ),
        ),
        rx.vstack(
            figure("Total", State.cart_total, id="cart-total"),
            figure("Credit available", State.available_credit),
            figure(
                "Credit left after this order",
                State.credit_after,
                color=rx.cond(State.over_credit, "var(--red-11)", "inherit"),
                id="credit-after",
            ),
            cart_problem_list(State),
            delivery_day_input(State),
            rx.hstack(
                rx.button(
                    rx.icon("check", size=16),
                    "Place order",
                    size="3",
                    color_scheme="green",
                    disabled=~State.cart_ok,
                    loading=State.submitting,
                    on_click=State.place_order,
                    id="place-order",
                    flex="1",
                ),
                rx.cond(
                    State.desk_mode & State.over_credit,
                    rx.button(
                        "Place on credit hold",
                        size="3",
                        variant="soft",
                        color_scheme="amber",
                        on_click=State.place_on_hold,
                        id="place-on-hold",
                    ),
                ),
                rx.button(
                    "Clear",
                    size="3",
                    variant="soft",
                    color_scheme="gray",
                    on_click=State.clear_cart,
                    disabled=State.cart_count == 0,
                ),
                spacing="2",
                width="100%",
            ),
            spacing="2",
            padding="10px 12px",
            width="100%",
        ),
        id="cart-panel",
    )


def recent_order_row(row: OrderRow) -> rx.Component:
    """Render a recent order with one-click reorder."""
    return rx.hstack(
        rx.vstack(
            rx.link(
                row.number, on_click=State.select_order(row.order_id), size="2", weight="medium"
            ),
            rx.text(row.placed, " · ", row.total, size="1", color_scheme="gray", style=NUMBERS),
            spacing="0",
            flex="1",
        ),
        status_badge(row.status, row.status_text),
        rx.button(
            rx.icon("repeat", size=14),
            "Reorder",
            size="1",
            variant="soft",
            on_click=State.reorder(row.order_id),
            class_name="reorder-button",
            custom_attrs={"data-order": row.number},
        ),
        spacing="2",
        align="center",
        width="100%",
        padding="6px 12px",
        border_bottom="1px solid var(--gray-4)",
    )


def recent_orders_panel() -> rx.Component:
    """Render the last orders, each one click from a new cart."""
    return rx.cond(
        State.recent_orders.length() > 0,
        panel(
            "Recent orders", rx.foreach(State.recent_orders, recent_order_row), id="recent-orders"
        ),
    )


def catalog_row(row: CatalogRow) -> rx.Component:
    """Render one catalog product with its price, pack and minimum."""
    return rx.hstack(
        rx.vstack(
            rx.text(row.sku, " · ", row.name, size="2", trim="both"),
            rx.text(
                "pack ",
                row.pack_size,
                " · min ",
                row.min_order_qty,
                " · per ",
                row.unit,
                size="1",
                color_scheme="gray",
            ),
            spacing="0",
            flex="1",
            min_width="0",
        ),
        rx.text(row.price, size="2", weight="medium", style=NUMBERS),
        rx.icon_button(
            rx.icon("plus", size=14),
            size="1",
            variant="soft",
            on_click=State.add_from_catalog(row.sku, row.add_quantity),
            aria_label="Add to cart",
        ),
        spacing="2",
        align="center",
        width="100%",
        padding="6px 12px",
        border_bottom="1px solid var(--gray-4)",
    )


def catalog_panel() -> rx.Component:
    """Render the dealer's catalog, searchable by SKU and name."""
    return panel(
        rx.hstack(
            rx.text("Catalog", size="2", weight="bold"),
            rx.text(State.catalog_count, " products", size="1", color_scheme="gray"),
            spacing="2",
            align="center",
        ),
        rx.box(
            rx.input(
                placeholder="Search SKU or name",
                value=State.catalog_query,
                on_change=State.search_catalog.debounce(250),
                id="catalog-search",
                width="100%",
            ),
            padding="8px 12px",
        ),
        rx.box(rx.foreach(State.catalog_rows, catalog_row), max_height="420px", overflow_y="auto"),
        id="catalog-panel",
    )


def order_tab() -> rx.Component:
    """Render quick order, cart, recent orders and catalog."""
    return rx.grid(
        rx.vstack(
            panel(
                "Quick order",
                rx.vstack(quick_add_form(), paste_form(), spacing="3", padding="10px 12px"),
            ),
            matches_panel(),
            recent_orders_panel(),
            spacing="3",
            width="100%",
            min_width="0",
        ),
        rx.vstack(cart_panel(), catalog_panel(), spacing="3", width="100%", min_width="0"),
        columns={"initial": "1", "md": "2"},
        gap="12px",
        width="100%",
    )


def history_row(row: OrderRow) -> rx.Component:
    """Render one order of the history."""
    return rx.hstack(
        rx.vstack(
            rx.text(row.number, size="2", weight="medium"),
            rx.text(
                "placed ",
                row.placed,
                " · deliver ",
                row.delivery_day,
                rx.cond(row.entered_by != "", " · by " + row.entered_by, ""),
                size="1",
                color_scheme="gray",
            ),
            spacing="0",
            flex="1",
            min_width="0",
        ),
        rx.text(row.total, size="2", style=NUMBERS),
        status_badge(row.status, row.status_text),
        rx.button(
            rx.icon("repeat", size=14),
            size="1",
            variant="soft",
            on_click=State.reorder(row.order_id).stop_propagation,
            aria_label="Reorder",
        ),
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
        class_name="history-row",
        custom_attrs={"data-order": row.number},
    )


def step_row(step: StepRow) -> rx.Component:
    """Render one timeline step: a dot, the label, when and the detail."""
    color = rx.match(
        step.state, ("done", "var(--green-9)"), ("bad", "var(--red-9)"), "var(--gray-6)"
    )
    return rx.hstack(
        rx.box(
            width="12px",
            height="12px",
            border_radius="50%",
            background=color,
            flex_shrink="0",
            margin_top="4px",
        ),
        rx.vstack(
            rx.text(
                step.label,
                size="2",
                weight=rx.cond(step.state == "todo", "regular", "medium"),
                color=rx.cond(step.state == "todo", "var(--gray-10)", "inherit"),
            ),
            rx.cond(
                (step.at != "") | (step.detail != ""),
                rx.text(
                    step.at,
                    rx.cond((step.at != "") & (step.detail != ""), " · ", ""),
                    step.detail,
                    size="1",
                    color_scheme="gray",
                ),
            ),
            spacing="0",
        ),
        spacing="2",
        align="start",
        class_name="timeline-step",
        custom_attrs={"data-step": step.key, "data-state": step.state},
    )


def line_row(line: LineRow) -> rx.Component:
    """Render one line of the selected order."""
    return rx.hstack(
        rx.text(line.sku, " · ", line.name, size="1", flex="1", min_width="0", trim="both"),
        rx.text(
            line.quantity,
            f" {TIMES} ",
            line.unit_price,
            size="1",
            color_scheme="gray",
            style=NUMBERS,
        ),
        rx.text(line.line_total, size="1", style=NUMBERS, min_width="72px", text_align="right"),
        width="100%",
        spacing="2",
    )


def cart_problem_list(state) -> rx.Component:
    """Render the cart's problems of `state` (dealer or shop), one red line each."""
    return rx.foreach(
        state.cart_problems,
        lambda message: rx.text(message, size="1", color_scheme="red", class_name="cart-problem"),
    )


def delivery_day_input(state, earliest=None) -> rx.Component:
    """Render the "Deliver on" date picker of `state`, not before `earliest` when given."""
    extra = {} if earliest is None else {"min": earliest}
    return rx.hstack(
        rx.text("Deliver on", size="2", color_scheme="gray"),
        rx.input(
            type="date",
            value=state.delivery_day,
            on_change=state.set_delivery_day,
            size="2",
            id="delivery-day",
            **extra,
        ),
        spacing="2",
        align="center",
    )


def order_detail_panel(state, code_label: str, *actions: rx.Component) -> rx.Component:
    """Render the selected order of `state`: status, the rider's code, timeline and lines.

    The dealer page and the customer shop share it; `state` is their state class, which
    has the same `selected_*`, `steps` fields. `actions` go under the lines.
    """
    return rx.cond(
        state.selected_order_id > 0,
        panel(
            rx.hstack(
                rx.text(state.selected_number, size="2", weight="bold", id="tracked-number"),
                status_badge(state.selected_status, state.selected_status_text),
                spacing="2",
                align="center",
            ),
            rx.vstack(
                rx.text(
                    "Deliver on ",
                    state.selected_delivery_day,
                    " · total ",
                    state.selected_total,
                    size="1",
                    color_scheme="gray",
                ),
                rx.cond(
                    state.selected_code != "",
                    rx.callout(
                        rx.text(
                            code_label,
                            rx.text.strong(state.selected_code, id="confirmation-code"),
                        ),
                        icon="key-round",
                        size="1",
                    ),
                ),
                rx.vstack(rx.foreach(state.steps, step_row), spacing="2", id="timeline"),
                rx.divider(),
                rx.foreach(state.selected_lines, line_row),
                *actions,
                spacing="2",
                padding="10px 12px",
                width="100%",
            ),
            id="order-detail",
            custom_attrs={"data-status": state.selected_status},
        ),
        panel(
            "Order",
            rx.text("Choose an order to follow it.", size="2", color_scheme="gray", padding="12px"),
        ),
    )


def order_detail() -> rx.Component:
    """Render the dealer's selected order; it updates live and can be ordered again."""
    return order_detail_panel(
        State,
        "Confirmation code for the rider: ",
        rx.button(
            rx.icon("repeat", size=14),
            "Reorder",
            size="2",
            variant="soft",
            on_click=State.reorder(State.selected_order_id),
        ),
    )


def orders_tab() -> rx.Component:
    """Render the order history with filters and the selected order's tracking."""
    return rx.grid(
        panel(
            "Orders",
            rx.hstack(
                rx.select(
                    ["all", "open", "delivered", "problem"],
                    value=State.history_filter,
                    on_change=State.set_history_filter,
                    size="2",
                ),
                rx.input(
                    placeholder="Order number",
                    value=State.history_search,
                    on_change=State.search_orders.debounce(300),
                    size="2",
                    flex="1",
                ),
                spacing="2",
                padding="8px 12px",
            ),
            rx.box(rx.foreach(State.orders, history_row), max_height="560px", overflow_y="auto"),
            id="orders-panel",
        ),
        order_detail(),
        columns={"initial": "1", "md": "2"},
        gap="12px",
        width="100%",
    )


def invoice_row(row: InvoiceRow) -> rx.Component:
    """Render one invoice."""
    return rx.hstack(
        rx.vstack(
            rx.text(row.number, " · ", row.order_number, size="2"),
            rx.text("issued ", row.issued, " · due ", row.due, size="1", color_scheme="gray"),
            spacing="0",
            flex="1",
        ),
        rx.vstack(
            rx.text(row.amount, size="2", style=NUMBERS),
            rx.text("open ", row.open_amount, size="1", color_scheme="gray", style=NUMBERS),
            spacing="0",
            align="end",
        ),
        width="100%",
        padding="6px 12px",
        border_bottom="1px solid var(--gray-4)",
    )


def payment_row(row: PaymentRow) -> rx.Component:
    """Render one payment."""
    return rx.hstack(
        rx.vstack(
            rx.text(row.reference, size="2"),
            rx.text(
                row.received, " · recorded by ", row.recorded_by, size="1", color_scheme="gray"
            ),
            spacing="0",
            flex="1",
        ),
        rx.text(row.amount, size="2", style=NUMBERS),
        width="100%",
        padding="6px 12px",
        border_bottom="1px solid var(--gray-4)",
    )


def account_tab() -> rx.Component:
    """Render balance, credit, open orders, invoices, payments and the statement download."""
    return rx.vstack(
        panel(
            "Account",
            rx.grid(
                figure("Credit limit", State.credit_limit),
                figure("Balance (unpaid invoices)", State.balance),
                figure(
                    "Open orders (" + State.open_orders_count.to_string() + ")",
                    State.open_orders_value,
                ),
                figure("Available credit", State.available_credit, id="account-available"),
                figure("Overdue", State.overdue),
                columns={"initial": "1", "sm": "2"},
                gap="6px 24px",
                padding="10px 12px",
            ),
            actions=rx.button(
                rx.icon("download", size=14),
                "Statement (CSV)",
                size="1",
                variant="soft",
                on_click=State.download_statement,
                id="download-statement",
            ),
        ),
        rx.grid(
            panel(
                "Invoices",
                rx.cond(
                    State.invoices.length() > 0,
                    rx.box(rx.foreach(State.invoices, invoice_row)),
                    rx.text(
                        "No invoices yet; one is raised when an order is delivered.",
                        size="2",
                        color_scheme="gray",
                        padding="12px",
                    ),
                ),
            ),
            panel(
                "Payments",
                rx.cond(
                    State.payments.length() > 0,
                    rx.box(rx.foreach(State.payments, payment_row)),
                    rx.text("No payments recorded.", size="2", color_scheme="gray", padding="12px"),
                ),
            ),
            columns={"initial": "1", "md": "2"},
            gap="12px",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def desk_tabs() -> rx.Component:
    """Render the order, orders and account tabs, and the live update timer."""
    return rx.box(
        ticker(State.poll, 1500),
        rx.tabs.root(
            rx.tabs.list(
                rx.tabs.trigger("Order", value="order", id="tab-order"),
                rx.tabs.trigger("Orders", value="orders", id="tab-orders"),
                rx.tabs.trigger("Account", value="account", id="tab-account"),
            ),
            rx.tabs.content(order_tab(), value="order", padding_top="10px"),
            rx.tabs.content(orders_tab(), value="orders", padding_top="10px"),
            rx.tabs.content(account_tab(), value="account", padding_top="10px"),
            value=State.tab,
            on_change=State.open_tab,
            width="100%",
        ),
        width="100%",
    )


def scrolling(*children: rx.Component) -> rx.Component:
    """Render a column that scrolls inside the app shell, which itself never scrolls."""
    return rx.box(
        rx.vstack(*children, spacing="3", width="100%", max_width="1280px", margin="0 auto"),
        flex="1",
        min_height="0",
        overflow_y="auto",
        width="100%",
    )
