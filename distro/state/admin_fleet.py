"""State of the admin page's vehicles and riders tabs, for the admin role only.

Every handler calls `self.require(Role.ADMIN)` first. A fleet has tens of vehicles and
riders, so each tab lists them all, up to `admin.MAX_PAGE_SIZE`.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from distro.backbone import admin
from distro.backbone.errors import NotFoundError
from distro.backbone.models import Role
from distro.backbone.running_costs import default_rates_text
from distro.db import session_scope
from distro.state.admin import AdminState
from distro.state.forms import form_cents, form_int, form_optional_id, form_text, format_cents


@dataclasses.dataclass
class VehicleRow:
    """One vehicle; costs in currency units."""

    vehicle_id: int
    code: str
    name: str
    capacity_kg: int
    capacity_units: int
    cost_per_km: str
    cost_per_day: str
    active: bool


@dataclasses.dataclass
class VehicleForm:
    """The vehicle being edited (`vehicle_id` 0 for a new one), as text for the form."""

    vehicle_id: int = 0
    code: str = ""
    name: str = ""
    capacity_kg: str = ""
    capacity_units: str = ""
    cost_per_km: str = ""
    cost_per_day: str = ""


@dataclasses.dataclass
class RiderRow:
    """One rider with the code of their default vehicle."""

    rider_id: int
    code: str
    name: str
    phone: str
    vehicle_id: int
    vehicle: str
    active: bool


@dataclasses.dataclass
class RiderForm:
    """The rider being edited (`rider_id` 0 for a new one); `vehicle_id` "none" for no vehicle."""

    rider_id: int = 0
    code: str = ""
    name: str = ""
    phone: str = ""
    vehicle_id: str = "none"


@dataclasses.dataclass
class VehicleOption:
    """An active vehicle as a choice in the rider form's select."""

    value: str
    label: str


class FleetAdminState(AdminState):
    """The vehicles and riders tables and their forms."""

    vehicles: list[VehicleRow] = []
    riders: list[RiderRow] = []
    vehicle_options: list[VehicleOption] = []
    vehicle_form: VehicleForm = VehicleForm()
    rider_form: RiderForm = RiderForm()
    default_rates: str = ""

    @rx.event
    def load_page(self) -> rx.event.EventSpec | None:
        """Read vehicles and riders for an admin; redirect anyone else."""
        if (redirect := self.redirect_unless(Role.ADMIN)) is not None:
            return redirect
        self.require(Role.ADMIN)
        self._load_fleet()
        return None

    @rx.event
    def new_vehicle(self) -> None:
        """Empty the vehicle form for a new vehicle."""
        self.require(Role.ADMIN)
        self.vehicle_form = VehicleForm()
        self.form_version += 1

    @rx.event
    def edit_vehicle(self, vehicle_id: int) -> None:
        """Fill the vehicle form with one vehicle."""
        self.require(Role.ADMIN)
        row = next((r for r in self.vehicles if r.vehicle_id == int(vehicle_id)), None)
        if row is None:
            raise NotFoundError(f"Vehicle {vehicle_id} not found; reload the page.")
        self.vehicle_form = VehicleForm(
            vehicle_id=row.vehicle_id,
            code=row.code,
            name=row.name,
            capacity_kg=str(row.capacity_kg),
            capacity_units=str(row.capacity_units),
            cost_per_km=row.cost_per_km,
            cost_per_day=row.cost_per_day,
        )
        self.form_version += 1

    @rx.event
    def save_vehicle(self, form: dict) -> None:
        """Create a vehicle, or save the one in the form when it came from an Edit button."""
        actor = self.require(Role.ADMIN)
        spec = admin.VehicleSpec(
            code=self.vehicle_form.code or form_text(form, "code"),
            name=form_text(form, "name"),
            capacity_kg=form_int(form, "capacity_kg", "Capacity (kg)"),
            capacity_units=form_int(form, "capacity_units", "Capacity (units)"),
            cost_per_km_cents=form_cents(form, "cost_per_km", "Cost per km", default=0),
            cost_per_day_cents=form_cents(form, "cost_per_day", "Cost per day", default=0),
        )
        with session_scope() as session:
            if self.vehicle_form.vehicle_id:
                admin.update_vehicle(session, actor, self.vehicle_form.vehicle_id, spec)
                self.notice = f"Saved vehicle {spec.code}."
            else:
                vehicle = admin.create_vehicle(session, actor, spec)
                self.notice = f"Created vehicle {vehicle.code}."
        self.vehicle_form = VehicleForm()
        self.form_version += 1
        self._load_fleet()

    @rx.event
    def set_vehicle_active(self, vehicle_id: int, active: bool) -> None:
        """Activate or deactivate a vehicle."""
        actor = self.require(Role.ADMIN)
        with session_scope() as session:
            vehicle = admin.set_vehicle_active(session, actor, int(vehicle_id), bool(active))
            state = "active" if vehicle.active else "inactive"
            self.notice = f"Vehicle {vehicle.code} is now {state}."
        self._load_fleet()

    @rx.event
    def new_rider(self) -> None:
        """Empty the rider form for a new rider."""
        self.require(Role.ADMIN)
        self.rider_form = RiderForm()
        self.form_version += 1

    @rx.event
    def edit_rider(self, rider_id: int) -> None:
        """Fill the rider form with one rider."""
        self.require(Role.ADMIN)
        row = next((r for r in self.riders if r.rider_id == int(rider_id)), None)
        if row is None:
            raise NotFoundError(f"Rider {rider_id} not found; reload the page.")
        self.rider_form = RiderForm(
            rider_id=row.rider_id,
            code=row.code,
            name=row.name,
            phone=row.phone,
            vehicle_id=str(row.vehicle_id) if row.vehicle_id else "none",
        )
        self.form_version += 1

    @rx.event
    def save_rider(self, form: dict) -> None:
        """Create a rider, or save the one in the form when it came from an Edit button."""
        actor = self.require(Role.ADMIN)
        spec = admin.RiderSpec(
            code=self.rider_form.code or form_text(form, "code"),
            name=form_text(form, "name"),
            phone=form_text(form, "phone"),
            vehicle_id=form_optional_id(form, "vehicle_id", "Vehicle"),
        )
        with session_scope() as session:
            if self.rider_form.rider_id:
                admin.update_rider(session, actor, self.rider_form.rider_id, spec)
                self.notice = f"Saved rider {spec.code}."
            else:
                rider = admin.create_rider(session, actor, spec)
                self.notice = f"Created rider {rider.code}."
        self.rider_form = RiderForm()
        self.form_version += 1
        self._load_fleet()

    @rx.event
    def set_rider_active(self, rider_id: int, active: bool) -> None:
        """Activate or deactivate a rider."""
        actor = self.require(Role.ADMIN)
        with session_scope() as session:
            rider = admin.set_rider_active(session, actor, int(rider_id), bool(active))
            state = "active" if rider.active else "inactive"
            self.notice = f"Rider {rider.code} is now {state}."
        self._load_fleet()

    def _load_fleet(self) -> None:
        actor = self.require(Role.ADMIN)
        with session_scope() as session:
            vehicles = admin.list_vehicles(session, actor)
            riders = admin.list_riders(session, actor)
        codes = {v.id: v.code for v in vehicles}
        self.default_rates = default_rates_text()
        self.vehicles = [
            VehicleRow(
                v.id,
                v.code,
                v.name,
                v.capacity_kg,
                v.capacity_units,
                format_cents(v.cost_per_km_cents),
                format_cents(v.cost_per_day_cents),
                v.active,
            )
            for v in vehicles
        ]
        self.vehicle_options = [
            VehicleOption(str(v.id), f"{v.code} {v.name}") for v in vehicles if v.active
        ]
        self.riders = [
            RiderRow(
                r.id,
                r.code,
                r.name,
                r.phone,
                r.vehicle_id or 0,
                codes.get(r.vehicle_id, "") if r.vehicle_id else "",
                r.active,
            )
            for r in riders
        ]
