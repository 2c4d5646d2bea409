"""Running costs of vehicles: the rates the board shows and the weights the planner minimises.

A vehicle's rates are its own `cost_per_km_cents` and `cost_per_day_cents`. A rate left at 0
falls back to DISTRO_COST_PER_KM or DISTRO_COST_PER_VEHICLE_DAY, as on the KPI page, so the
board and the KPIs price a route the same way (the KPIs add rider hours on top).

The planner weighs money in thousandths of a cent: a metre driven costs `per_km_cents` of
them and a vehicle used on the day `per_day_cents * 1000`. When no vehicle of a planning run
has a cost set, the planner minimises distance alone (1 per metre, no fixed cost), as it did
before vehicles had costs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from distro.backbone.models import Vehicle
from distro.settings import get_settings

MILLICENTS_PER_CENT = 1000
"""Planner cost units per cent: a metre at `per_km_cents` costs `per_km_cents` units."""


@dataclass(frozen=True, slots=True)
class VehicleRates:
    """Running costs of a vehicle in cents, after the fallback to the settings."""

    per_km_cents: int
    per_day_cents: int


@dataclass(frozen=True, slots=True)
class CostWeights:
    """A vehicle's weights in the planner's objective.

    Attributes:
        distance_cost: Cost per metre driven, in thousandths of a cent (or 1 when the run
            weighs distance alone).
        fixed_cost: Cost of using the vehicle on the day, in the same unit.

    """

    distance_cost: int
    fixed_cost: int


def vehicle_rates(vehicle: Vehicle) -> VehicleRates:
    """Return a vehicle's rates; a rate of 0 takes the network default from the settings."""
    settings = get_settings()
    per_km = vehicle.cost_per_km_cents or round(settings.cost_per_km * 100)
    per_day = vehicle.cost_per_day_cents or round(settings.cost_per_vehicle_day * 100)
    return VehicleRates(per_km_cents=max(0, per_km), per_day_cents=max(0, per_day))


def route_cost_cents(distance_m: int, rates: VehicleRates) -> int:
    """Return the running cost of one route: its distance at the per-km rate plus one day."""
    return round(distance_m * rates.per_km_cents / 1000) + rates.per_day_cents


def objective_weights(vehicles: Iterable[Vehicle]) -> dict[int, CostWeights]:
    """Return the planner's weights per vehicle id for the vehicles of one planning run.

    Every vehicle weighs at least 1 per metre, so a vehicle whose per-km rate is 0 (a
    default of 0 in the settings) still gets short routes.
    """
    fleet = {vehicle.id: vehicle for vehicle in vehicles}
    if not any(v.cost_per_km_cents or v.cost_per_day_cents for v in fleet.values()):
        return {vehicle_id: CostWeights(1, 0) for vehicle_id in fleet}

    weights = {}
    for vehicle_id, vehicle in fleet.items():
        rates = vehicle_rates(vehicle)
        weights[vehicle_id] = CostWeights(
            distance_cost=max(1, rates.per_km_cents),
            fixed_cost=rates.per_day_cents * MILLICENTS_PER_CENT,
        )
    return weights


def default_rates_text() -> str:
    """Return the sentence naming the rates charged to a vehicle with no cost set."""
    settings = get_settings()
    per_km = round(settings.cost_per_km * 100)
    per_day = round(settings.cost_per_vehicle_day * 100)
    return (
        f"A vehicle whose cost is 0.00 is charged the network default: {per_km / 100:,.2f} "
        f"per km and {per_day / 100:,.2f} per day."
    )
