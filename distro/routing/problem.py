"""Vehicle routing problem and plan types.

Conventions used throughout ``distro.routing``:

* ``location`` values are row/column indices into the distance and duration matrices.
  Several stops may share a location, and depots are locations too.
* Times are integer seconds on one clock (for example seconds since midnight of the
  delivery day). Distances are integers in ``Problem.distance_unit``.
* Demand and capacity are integer tuples with one entry per capacity dimension
  (Distro uses two: kilograms and units). ``Problem.dimension_units`` names them
  for messages.
* ``priority`` is higher for more important stops. When not every stop fits, stops
  with a lower priority are left out first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Upper bound on the cost scale of a problem: twice the longest arc times the largest
#: distance cost, plus the largest fixed cost, times the number of stops. Below it the
#: prizes of ``solve`` and every plan's cost stay within the int64 range of both engines.
MAX_COST_SCALE = 2**60


class CostRangeError(ValueError):
    """The vehicles' costs are so large that plan costs could overflow int64.

    Attributes:
        vehicle_id: The vehicle with the largest cost.

    """

    def __init__(self, message: str, vehicle_id: str) -> None:
        super().__init__(message)
        self.vehicle_id = vehicle_id


@dataclass(frozen=True, slots=True)
class Stop:
    """One delivery stop.

    Attributes:
        id: Caller's identifier, unique within a problem.
        location: Index into the problem's matrices.
        demand: Amount per capacity dimension, for example ``(kg, units)``.
        service_time: Time spent at the stop, in seconds.
        time_window: ``(earliest, latest)`` start of service in seconds, or None for any
            time within the vehicle's shift.
        priority: Higher is more important; 0 is normal.
        depot: Depot location whose vehicles may serve the stop, or None for any
            vehicle. A stop whose goods wait at one warehouse is bound to that depot.

    """

    id: str
    location: int
    demand: tuple[int, ...]
    service_time: int = 0
    time_window: tuple[int, int] | None = None
    priority: int = 0
    depot: int | None = None


@dataclass(frozen=True, slots=True)
class Vehicle:
    """One vehicle that starts and ends its route at a depot.

    Attributes:
        id: Caller's identifier, unique within a problem.
        depot: Location index where the route starts and ends.
        capacity: Capacity per dimension, in the same units as ``Stop.demand``.
        shift_start: Earliest departure from the depot, in seconds.
        shift_end: Latest return to the depot in seconds, or None for no limit.
        max_stops: Maximum number of stops on the route, or None for no limit.
        fixed_cost: Cost added when the vehicle is used, in the unit of
            ``distance_cost`` times one distance unit.
        distance_cost: Cost per distance unit driven. With the default costs (1 and 0)
            the objective is the total distance.

    """

    id: str
    depot: int
    capacity: tuple[int, ...]
    shift_start: int = 0
    shift_end: int | None = None
    max_stops: int | None = None
    fixed_cost: int = 0
    distance_cost: int = 1


@dataclass(frozen=True, slots=True)
class Problem:
    """Stops, vehicles and the travel matrices between all locations.

    The constructor validates the input and raises ValueError naming the bad value.
    The matrices are converted to read-only int64 arrays.

    Attributes:
        stops: Stops to serve.
        vehicles: Available vehicles.
        distance: Square matrix of travel distances in ``distance_unit``.
        duration: Square matrix of travel times in seconds, same shape as ``distance``.
        distance_unit: Unit of ``distance``, for display only.
        dimension_units: Optional name per capacity dimension (``("kg", "units")``),
            used in messages.
        coordinates: Optional ``(n_locations, 2)`` array of (lat, lon) or (x, y), used
            only to cut very large problems into zones.

    """

    stops: tuple[Stop, ...]
    vehicles: tuple[Vehicle, ...]
    distance: np.ndarray
    duration: np.ndarray
    distance_unit: str = "m"
    dimension_units: tuple[str, ...] = ()
    coordinates: np.ndarray | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stops", tuple(self.stops))
        object.__setattr__(self, "vehicles", tuple(self.vehicles))
        object.__setattr__(self, "distance", _readonly_matrix(self.distance, "distance"))
        object.__setattr__(self, "duration", _readonly_matrix(self.duration, "duration"))
        if self.coordinates is not None:
            coords = np.array(self.coordinates, dtype=float)
            coords.setflags(write=False)
            object.__setattr__(self, "coordinates", coords)
        _validate(self)

    @property
    def n_locations(self) -> int:
        """Number of locations, the side of the matrices."""
        return int(self.distance.shape[0])

    @property
    def n_dimensions(self) -> int:
        """Number of capacity dimensions."""
        if self.vehicles:
            return len(self.vehicles[0].capacity)
        if self.stops:
            return len(self.stops[0].demand)
        return 0

    def unit(self, dimension: int) -> str:
        """Return the unit name of a capacity dimension, for messages."""
        if dimension < len(self.dimension_units):
            return self.dimension_units[dimension]
        return f"(dimension {dimension})"


@dataclass(frozen=True, slots=True)
class Route:
    """One vehicle's route in a plan.

    Attributes:
        vehicle_id: The vehicle driving the route.
        stop_ids: Stops in visiting order, depot excluded.
        load: Total demand on the route per capacity dimension.
        distance: Driven distance from depot back to depot, in the problem's unit.
        duration: ``end - start`` in seconds, including service and waiting.
        etas: Start of service at each stop in seconds. This is the arrival time
            unless the vehicle arrives before the time window opens and waits.
        start: Departure from the depot in seconds.
        end: Return to the depot in seconds.

    """

    vehicle_id: str
    stop_ids: tuple[str, ...]
    load: tuple[int, ...]
    distance: int
    duration: int
    etas: tuple[int, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Unassigned:
    """A stop left out of the plan, with a sentence saying why."""

    stop_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """Result of a solve.

    Attributes:
        routes: Routes of the vehicles that are used.
        unassigned: Stops not in any route.
        total_distance: Sum of route distances, in the problem's unit.
        total_duration: Sum of route durations, in seconds.
        solve_seconds: Wall-clock time of the solve.
        engine: Engine that produced the routes (``pyvrp``, ``ortools``, ...).
        seed: Seed used.

    """

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    total_distance: int
    total_duration: int
    solve_seconds: float
    engine: str
    seed: int


def _readonly_matrix(values: object, name: str) -> np.ndarray:
    """Convert a matrix to a read-only int64 array, raising ValueError on bad values."""
    matrix = np.asarray(values)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(
            f"{name} matrix has shape {matrix.shape}; pass a square n_locations x "
            f"n_locations matrix"
        )
    if matrix.dtype.kind == "f":
        if not np.all(np.isfinite(matrix)):
            raise ValueError(f"{name} matrix contains NaN or infinite values; pass finite values")
        matrix = np.rint(matrix)
    elif matrix.dtype.kind not in "iu":
        raise ValueError(f"{name} matrix has dtype {matrix.dtype}; pass integers")
    if matrix.dtype != np.int64 or matrix.flags.writeable:
        # Copy so that later changes to the caller's array cannot alter the problem.
        matrix = np.array(matrix, dtype=np.int64)
    if matrix.size and matrix.min() < 0:
        i, j = np.unravel_index(int(np.argmin(matrix)), matrix.shape)
        raise ValueError(
            f"{name}[{i}][{j}] is {matrix[i, j]}; matrix entries must be non-negative"
        )
    matrix.setflags(write=False)
    return matrix


def _validate(problem: Problem) -> None:
    """Raise ValueError naming the first invalid value of a problem."""
    n = problem.n_locations
    if problem.duration.shape != problem.distance.shape:
        raise ValueError(
            f"duration matrix has shape {problem.duration.shape} but distance matrix has "
            f"shape {problem.distance.shape}; pass matrices of the same shape"
        )
    if problem.coordinates is not None and problem.coordinates.shape != (n, 2):
        raise ValueError(
            f"coordinates have shape {problem.coordinates.shape}; pass one (lat, lon) or "
            f"(x, y) row per location, shape ({n}, 2)"
        )
    if not problem.vehicles:
        raise ValueError("problem has no vehicles; pass at least one Vehicle")
    n_dims = len(problem.vehicles[0].capacity)

    vehicle_ids: set[str] = set()
    for vehicle in problem.vehicles:
        _validate_vehicle(vehicle, n, n_dims)
        if vehicle.id in vehicle_ids:
            raise ValueError(f"vehicle id {vehicle.id!r} is used twice; vehicle ids must be unique")
        vehicle_ids.add(vehicle.id)

    depots = {vehicle.depot for vehicle in problem.vehicles}
    stop_ids: set[str] = set()
    for stop in problem.stops:
        _validate_stop(stop, n, n_dims)
        if stop.id in stop_ids:
            raise ValueError(f"stop id {stop.id!r} is used twice; stop ids must be unique")
        stop_ids.add(stop.id)
        if stop.depot is not None and stop.depot not in depots:
            raise ValueError(
                f"stop {stop.id!r} has depot {stop.depot}, where no vehicle starts; use one "
                f"of the vehicles' depots {sorted(depots)} or None"
            )
    _validate_cost_range(problem)


def _validate_cost_range(problem: Problem) -> None:
    """Raise CostRangeError when the costs could overflow the engines' int64 objective."""
    longest = int(problem.distance.max()) if problem.distance.size else 0
    distance_cost = max(v.distance_cost for v in problem.vehicles)
    fixed_cost = max(v.fixed_cost for v in problem.vehicles)
    scale = (2 * longest * distance_cost + fixed_cost + 1) * max(1, len(problem.stops))
    if scale <= MAX_COST_SCALE:
        return
    costly = max(problem.vehicles, key=lambda v: 2 * longest * v.distance_cost + v.fixed_cost)
    raise CostRangeError(
        f"vehicle {costly.id!r} has distance_cost {costly.distance_cost} and fixed_cost "
        f"{costly.fixed_cost}; with the longest arc {longest} and {len(problem.stops)} stops "
        f"a plan's cost could exceed the int64 range, so express costs in a coarser unit",
        costly.id,
    )


def _validate_vehicle(vehicle: Vehicle, n_locations: int, n_dims: int) -> None:
    name = f"vehicle {vehicle.id!r}"
    if not 0 <= vehicle.depot < n_locations:
        raise ValueError(
            f"{name} has depot {vehicle.depot}; use a location index in 0..{n_locations - 1}"
        )
    if len(vehicle.capacity) != n_dims:
        raise ValueError(
            f"{name} has {len(vehicle.capacity)} capacity dimensions {vehicle.capacity}; "
            f"every vehicle needs {n_dims}, like the first vehicle"
        )
    if any(c < 0 for c in vehicle.capacity):
        raise ValueError(f"{name} has capacity {vehicle.capacity}; capacities must be >= 0")
    if vehicle.shift_start < 0:
        raise ValueError(f"{name} has shift_start {vehicle.shift_start}; it must be >= 0")
    if vehicle.shift_end is not None and vehicle.shift_end < vehicle.shift_start:
        raise ValueError(
            f"{name} has shift_end {vehicle.shift_end} before shift_start "
            f"{vehicle.shift_start}; pass shift_end >= shift_start or None"
        )
    if vehicle.max_stops is not None and vehicle.max_stops < 0:
        raise ValueError(f"{name} has max_stops {vehicle.max_stops}; pass >= 0 or None")
    if vehicle.fixed_cost < 0 or vehicle.distance_cost < 0:
        raise ValueError(
            f"{name} has fixed_cost {vehicle.fixed_cost} and distance_cost "
            f"{vehicle.distance_cost}; costs must be >= 0"
        )


def _validate_stop(stop: Stop, n_locations: int, n_dims: int) -> None:
    name = f"stop {stop.id!r}"
    if not 0 <= stop.location < n_locations:
        raise ValueError(
            f"{name} has location {stop.location}; use a location index in 0..{n_locations - 1}"
        )
    if len(stop.demand) != n_dims:
        raise ValueError(
            f"{name} has demand {stop.demand} with {len(stop.demand)} dimensions; the "
            f"vehicles have {n_dims} capacity dimensions, so pass {n_dims} values"
        )
    if any(d < 0 for d in stop.demand):
        raise ValueError(f"{name} has demand {stop.demand}; demands must be >= 0")
    if stop.service_time < 0:
        raise ValueError(f"{name} has service_time {stop.service_time}; it must be >= 0")
    if stop.time_window is not None:
        early, late = stop.time_window
        if early < 0 or late < early:
            raise ValueError(
                f"{name} has time_window {stop.time_window}; pass (earliest, latest) with "
                f"0 <= earliest <= latest, in seconds"
            )
