"""Synthetic delivery days for scale tests: many stops, several depots, a mixed fleet."""

from __future__ import annotations

import numpy as np

from distro.routing.geo import HaversineProvider
from distro.routing.problem import Problem, Stop, Vehicle

#: Centre of the synthetic region, (lat, lon) in degrees. Any place works because
#: distances are straight-line; this one is near Utrecht, Netherlands.
CENTRE = (52.09, 5.12)

#: Half the side of the square region, in degrees of latitude (about 33 km).
HALF_SIDE_DEG = 0.3


def synthetic_day(
    n_stops: int, n_depots: int = 3, n_vehicles: int | None = None, seed: int = 0
) -> Problem:
    """Build one day of deliveries around a few depots.

    Stops are drawn around 40 towns in a square of about 66 x 66 km, with 20% spread
    evenly. Each stop weighs 5-60 kg and counts 1-6 units, takes 5 minutes, and 35%
    of them have a 2-hour window between 9:00 and 17:00. Vehicles are shared equally
    among the depots: two in three are vans (1,200 kg, 150 units) and one in three
    trucks (3,000 kg, 300 units, twice the cost per metre). Shifts run 8:00-18:00 with
    at most 60 stops per route. Matrices come from ``HaversineProvider`` (road factor
    1.3, 30 km/h), in metres and seconds since midnight.

    Args:
        n_stops: Number of delivery stops.
        n_depots: Number of depots, placed on a circle around the centre.
        n_vehicles: Fleet size; defaults to one vehicle per 33 stops, at least one
            per depot.
        seed: Seed of the random generator.

    Returns:
        A problem whose first ``n_depots`` locations are the depots, with read-only
        matrices and (lat, lon) coordinates.

    """
    rng = np.random.default_rng(seed)
    if n_vehicles is None:
        n_vehicles = max(n_depots, round(n_stops / 33))

    angles = 2 * np.pi * np.arange(n_depots) / n_depots
    depots = np.column_stack(
        (
            CENTRE[0] + 0.5 * HALF_SIDE_DEG * np.sin(angles),
            CENTRE[1] + 0.8 * HALF_SIDE_DEG * np.cos(angles),
        )
    )
    towns = rng.uniform(-HALF_SIDE_DEG, HALF_SIDE_DEG, size=(40, 2)) + CENTRE
    n_spread = n_stops // 5
    town_of = rng.integers(0, len(towns), size=n_stops - n_spread)
    clustered = towns[town_of] + rng.normal(0.0, 0.02, size=(len(town_of), 2))
    spread = rng.uniform(-HALF_SIDE_DEG, HALF_SIDE_DEG, size=(n_spread, 2)) + CENTRE
    points = np.vstack([depots, clustered, spread])

    distance, duration = HaversineProvider(road_factor=1.3, speed_kmh=30.0).matrices(points)
    # Read-only matrices are taken over by Problem without a copy (200 MB each at 5,000).
    distance.setflags(write=False)
    duration.setflags(write=False)

    stops = []
    for i in range(n_stops):
        window = None
        if rng.random() < 0.35:
            opens = int(rng.integers(9, 16)) * 3600
            window = (opens, opens + 2 * 3600)
        stops.append(
            Stop(
                id=f"s{i + 1}",
                location=n_depots + i,
                demand=(int(rng.integers(5, 61)), int(rng.integers(1, 7))),
                service_time=300,
                time_window=window,
            )
        )

    vehicles = []
    for k in range(n_vehicles):
        truck = k % 3 == 2
        vehicles.append(
            Vehicle(
                id=f"v{k + 1}",
                depot=k % n_depots,
                capacity=(3000, 300) if truck else (1200, 150),
                shift_start=8 * 3600,
                shift_end=18 * 3600,
                max_stops=60,
                fixed_cost=20_000 if truck else 10_000,
                distance_cost=2 if truck else 1,
            )
        )

    return Problem(
        stops=tuple(stops),
        vehicles=tuple(vehicles),
        distance=distance,
        duration=duration,
        dimension_units=("kg", "units"),
        coordinates=points,
    )
