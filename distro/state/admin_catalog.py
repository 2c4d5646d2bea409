"""State of the admin page's products, price tiers and tier prices tabs, for the admin role only.

The products tab and the prices tab show the same page of products, so a search on one
applies to both. Every handler calls `self.require(Role.ADMIN)` first.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from distro.backbone import admin
from distro.backbone.errors import NotFoundError
from distro.backbone.models import Role
from distro.db import session_scope
from distro.state.admin import AdminState, TierOption
from distro.state.forms import form_cents, form_decimal, form_int, form_text, format_cents


@dataclasses.dataclass
class ProductRow:
    """One product, with its price in the selected tier ("" when the tier does not sell it)."""

    product_id: int
    sku: str
    name: str
    unit: str
    weight_kg: float
    pack_size: int
    min_order_qty: int
    active: bool
    price: str


@dataclasses.dataclass
class ProductForm:
    """The product being edited (`product_id` 0 for a new one), as text for the form."""

    product_id: int = 0
    sku: str = ""
    name: str = ""
    unit: str = "unit"
    weight_kg: str = ""
    pack_size: str = "1"
    min_order_qty: str = "1"


class CatalogAdminState(AdminState):
    """One page of products, the price tiers and the selected tier's prices."""

    products: list[ProductRow] = []
    product_search: str = ""
    product_offset: int = 0
    product_total: int = 0
    product_form: ProductForm = ProductForm()
    price_tier_id: str = ""
    """Id of the tier whose prices the prices tab shows, as text like a select's value."""

    @rx.event
    def load_page(self) -> rx.event.EventSpec | None:
        """Read the first page of products and the tiers for an admin; redirect anyone else."""
        if (redirect := self.redirect_unless(Role.ADMIN)) is not None:
            return redirect
        self.require(Role.ADMIN)
        self._load_products()
        return None

    @rx.event
    def search_products(self, form: dict) -> None:
        """Show the first page of products whose SKU or name contains the text."""
        self.require(Role.ADMIN)
        self.product_search = form_text(form, "search")
        self.product_offset = 0
        self._load_products()

    @rx.event
    def turn_product_page(self, step: int) -> None:
        """Show the next (`step` 1) or previous (`step` -1) page of products."""
        self.require(Role.ADMIN)
        offset = self.product_offset + int(step) * admin.DEFAULT_PAGE_SIZE
        self.product_offset = max(0, min(offset, self.product_total - 1))
        self._load_products()

    @rx.event
    def new_product(self) -> None:
        """Empty the product form for a new product."""
        self.require(Role.ADMIN)
        self.product_form = ProductForm()
        self.form_version += 1

    @rx.event
    def edit_product(self, product_id: int) -> None:
        """Fill the product form with one product of the page."""
        self.require(Role.ADMIN)
        row = next((r for r in self.products if r.product_id == int(product_id)), None)
        if row is None:
            raise NotFoundError(f"Product {product_id} is not on this page; search for it again.")
        self.product_form = ProductForm(
            product_id=row.product_id,
            sku=row.sku,
            name=row.name,
            unit=row.unit,
            weight_kg=f"{row.weight_kg:g}",
            pack_size=str(row.pack_size),
            min_order_qty=str(row.min_order_qty),
        )
        self.form_version += 1

    @rx.event
    def save_product(self, form: dict) -> None:
        """Create a product, or save the one in the form when it came from an Edit button."""
        actor = self.require(Role.ADMIN)
        spec = admin.ProductSpec(
            sku=self.product_form.sku or form_text(form, "sku"),
            name=form_text(form, "name"),
            unit=form_text(form, "unit"),
            weight_kg=float(form_decimal(form, "weight_kg", "Weight (kg)")),
            pack_size=form_int(form, "pack_size", "Pack size", default=1),
            min_order_qty=form_int(form, "min_order_qty", "Minimum order quantity", default=1),
        )
        with session_scope() as session:
            if self.product_form.product_id:
                admin.update_product(session, actor, self.product_form.product_id, spec)
                self.notice = f"Saved product {spec.sku}."
            else:
                product = admin.create_product(session, actor, spec)
                self.notice = f"Created product {product.sku}."
        self.product_form = ProductForm()
        self.form_version += 1
        self._load_products()

    @rx.event
    def set_product_active(self, product_id: int, active: bool) -> None:
        """Activate or deactivate a product."""
        actor = self.require(Role.ADMIN)
        with session_scope() as session:
            product = admin.set_product_active(session, actor, int(product_id), bool(active))
            state = "active" if product.active else "inactive"
            self.notice = f"Product {product.sku} is now {state}."
        self._load_products()

    @rx.event
    def create_tier(self, form: dict) -> None:
        """Create a price tier and show its (empty) prices."""
        actor = self.require(Role.ADMIN)
        with session_scope() as session:
            tier = admin.create_price_tier(
                session, actor, form_text(form, "code"), form_text(form, "name")
            )
            self.notice = f"Created price tier {tier.name}; give it prices below."
            self.price_tier_id = str(tier.id)
        self._load_products()

    @rx.event
    def select_price_tier(self, tier_id: str) -> None:
        """Show the prices of another tier."""
        self.require(Role.ADMIN)
        self.price_tier_id = str(tier_id)
        self._load_products()

    @rx.event
    def save_price(self, form: dict) -> None:
        """Set the price (in currency units) of the form's product in the selected tier."""
        actor = self.require(Role.ADMIN)
        product_id = form_int(form, "product_id", "Product id")
        cents = form_cents(form, "price", "Price")
        with session_scope() as session:
            admin.set_tier_price(session, actor, int(self.price_tier_id), product_id, cents)
        row = next((r for r in self.products if r.product_id == product_id), None)
        self.notice = f"Saved the price of {row.sku if row else product_id}: {format_cents(cents)}."
        self._load_products()

    def _load_products(self) -> None:
        actor = self.require(Role.ADMIN)
        with session_scope() as session:
            tiers = admin.list_price_tiers(session, actor)
            tier_ids = {str(t.id) for t in tiers}
            if self.price_tier_id not in tier_ids:
                self.price_tier_id = str(tiers[0].id) if tiers else ""
            page = admin.list_products(
                session, actor, search=self.product_search, offset=self.product_offset
            )
            prices = {}
            if self.price_tier_id:
                prices = admin.tier_prices(
                    session, actor, int(self.price_tier_id), [p.id for p in page.items]
                )
        self.tier_options = [TierOption(str(t.id), t.name) for t in tiers]
        self.product_total = page.total
        self.product_offset = page.offset
        self.products = [
            ProductRow(
                p.id,
                p.sku,
                p.name,
                p.unit,
                p.weight_kg,
                p.pack_size,
                p.min_order_qty,
                p.active,
                format_cents(prices.get(p.id)),
            )
            for p in page.items
        ]
        # A form's defaults are read once, so the price inputs are drawn afresh with the
        # prices just read.
        self.form_version += 1

    @rx.var
    def product_page_label(self) -> str:
        """Return the range of products shown, such as "1-25 of 36"."""
        if not self.product_total:
            return "no products match"
        last = min(self.product_offset + admin.DEFAULT_PAGE_SIZE, self.product_total)
        return f"{self.product_offset + 1}-{last} of {self.product_total}"
