"""The products and prices tabs of the admin page."""

from __future__ import annotations

import reflex as rx

from distro.components.forms import (
    active_badge,
    form_row,
    labeled_input,
    row_actions,
    search_and_pager,
)
from distro.components.layout import panel
from distro.components.tables import header_cell, number_cell
from distro.state.admin_catalog import CatalogAdminState, ProductRow


def _product_pager() -> rx.Component:
    return search_and_pager(
        CatalogAdminState.search_products,
        CatalogAdminState.product_page_label,
        CatalogAdminState.turn_product_page(-1),
        CatalogAdminState.turn_product_page(1),
        "SKU or name",
    )


def _product_form() -> rx.Component:
    form = CatalogAdminState.product_form
    editing = form.product_id != 0
    return rx.form(
        form_row(
            labeled_input(
                "SKU",
                "sku",
                form.sku,
                form_id="product",
                width="120px",
                required=True,
                read_only=editing,
            ),
            labeled_input(
                "Name", "name", form.name, form_id="product", width="260px", required=True
            ),
            labeled_input(
                "Unit", "unit", form.unit, form_id="product", width="90px", required=True
            ),
            labeled_input(
                "Weight (kg)",
                "weight_kg",
                form.weight_kg,
                form_id="product",
                width="100px",
                required=True,
            ),
            labeled_input(
                "Pack size", "pack_size", form.pack_size, form_id="product", width="80px"
            ),
            labeled_input(
                "Minimum order",
                "min_order_qty",
                form.min_order_qty,
                form_id="product",
                width="100px",
            ),
            rx.button(
                rx.cond(editing, "Save product", "Create product"),
                size="1",
                type="submit",
                id="save-product",
            ),
            rx.cond(
                editing,
                rx.button(
                    "Cancel",
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    type="button",
                    on_click=CatalogAdminState.new_product,
                ),
            ),
        ),
        on_submit=CatalogAdminState.save_product,
        key=CatalogAdminState.form_version,
    )


def _product_row(row: ProductRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.sku),
        rx.table.cell(row.name),
        rx.table.cell(row.unit),
        number_cell(row.weight_kg),
        number_cell(row.pack_size),
        number_cell(row.min_order_qty),
        rx.table.cell(active_badge(row.active)),
        row_actions(
            row.active,
            CatalogAdminState.edit_product(row.product_id),
            CatalogAdminState.set_product_active(row.product_id, False),
            CatalogAdminState.set_product_active(row.product_id, True),
        ),
    )


def products_panel() -> rx.Component:
    """Render the product form and one page of products."""
    return panel(
        rx.cond(
            CatalogAdminState.product_form.product_id != 0,
            rx.text("Edit product ", CatalogAdminState.product_form.sku, size="2", weight="bold"),
            rx.text("New product", size="2", weight="bold"),
        ),
        _product_form(),
        _product_pager(),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    header_cell("SKU"),
                    header_cell("Name"),
                    header_cell("Unit"),
                    header_cell("Weight (kg)", numeric=True),
                    header_cell("Pack size", numeric=True),
                    header_cell("Minimum order", numeric=True),
                    header_cell("Status"),
                    header_cell(""),
                )
            ),
            rx.table.body(rx.foreach(CatalogAdminState.products, _product_row)),
            size="1",
            id="products-table",
        ),
    )


def _price_row(row: ProductRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.sku),
        rx.table.cell(row.name),
        rx.table.cell(active_badge(row.active)),
        rx.table.cell(
            rx.form(
                rx.hstack(
                    rx.el.input(type="hidden", name="product_id", value=row.product_id),
                    rx.input(
                        name="price",
                        default_value=row.price,
                        placeholder="not sold",
                        size="1",
                        width="110px",
                        required=True,
                        aria_label="Unit price",
                    ),
                    rx.button("Save", size="1", variant="soft", type="submit"),
                    spacing="2",
                ),
                on_submit=CatalogAdminState.save_price,
                key=CatalogAdminState.form_version,
            )
        ),
    )


def _tier_select() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(width="160px"),
        rx.select.content(
            rx.foreach(
                CatalogAdminState.tier_options,
                lambda tier: rx.select.item(tier.label, value=tier.value),
            )
        ),
        value=CatalogAdminState.price_tier_id,
        on_change=CatalogAdminState.select_price_tier,
        size="1",
    )


def _new_tier_form() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.input(name="code", placeholder="new tier code", size="1", width="130px"),
            rx.input(name="name", placeholder="name", size="1", width="130px"),
            rx.button("Add tier", size="1", variant="soft", type="submit"),
            spacing="2",
        ),
        on_submit=CatalogAdminState.create_tier,
        reset_on_submit=True,
    )


def prices_panel() -> rx.Component:
    """Render one tier's unit prices for a page of products, each editable in its row."""
    return panel(
        rx.hstack(
            rx.text("Unit prices of tier", size="2", weight="bold", white_space="nowrap"),
            _tier_select(),
            spacing="2",
            align="center",
        ),
        _product_pager(),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    header_cell("SKU"),
                    header_cell("Name"),
                    header_cell("Status"),
                    header_cell("Unit price"),
                )
            ),
            rx.table.body(rx.foreach(CatalogAdminState.products, _price_row)),
            size="1",
        ),
        actions=_new_tier_form(),
    )
