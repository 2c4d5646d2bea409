"""Parsers for benchmark instance files.

Three formats are read, each into a ``Problem`` with integer matrices:

* loggibud JSON (last-mile CVRP with longitude/latitude): haversine metres rounded
  to the nearest metre, depot at ``origin``. ``scale`` is 1.
* CVRPLIB ``.vrp`` with ``EDGE_WEIGHT_TYPE: EUC_2D``: Euclidean distance rounded to
  the nearest integer (TSPLIB ``nint``). The fleet size is not fixed by these files,
  so enough vehicles are provided. ``scale`` is 1.
* Solomon ``.txt`` (VRPTW): distance and travel time truncated to one decimal, the
  convention used by exact methods and CVRPLIB. Matrices, times and service times are
  multiplied by 10 (``scale`` = 10) so they are exact integers. At most the file's
  VEHICLE NUMBER vehicles are used.

In every format location 0 is the depot and location ``i`` is the ``i``-th customer in
file order. CVRPLIB ``.sol`` files number customers the same way, which is what
``load_solution`` relies on.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from distro.routing.geo import haversine_matrix
from distro.routing.problem import Problem, Stop, Vehicle

#: Average speed used to derive travel times for loggibud files, which carry none.
LOGGIBUD_SPEED_KMH = 30.0


@dataclass(frozen=True, slots=True)
class InstanceStop:
    """One customer as written in the file.

    Attributes:
        file_id: Identifier in the file (node number, customer number or delivery id).
            loggibud files repeat some delivery ids, so this may not be unique.
        stop_id: Unique id of the matching ``Stop`` in ``Instance.problem``: the
            ``file_id``, with ``#2``, ``#3``... appended to repeated ids.
        coords: ``(lat, lon)`` for loggibud, ``(x, y)`` otherwise.
        demand: Demand in the file's unit.
        time_window: ``(ready, due)`` in the file's time unit, or None.
        service_time: Service time in the file's time unit.

    """

    file_id: str
    coords: tuple[float, float]
    demand: int
    time_window: tuple[float, float] | None
    service_time: float
    stop_id: str = ""


@dataclass(frozen=True, slots=True)
class Instance:
    """A parsed instance file.

    Attributes:
        name: Instance name from the file.
        format: ``loggibud``, ``cvrplib`` or ``solomon``.
        path: File that was read.
        problem: The routing problem with integer matrices.
        stop_ids: Unique stop id of each stop, in the order of ``problem.stops``.
        coordinates: ``(n_locations, 2)`` array: (lat, lon) for loggibud, (x, y) else.
        coordinate_kind: ``latlon`` or ``xy``.
        scale: Integer costs divided by ``scale`` give costs in the file's convention.
        depot_coords: Depot coordinates, same order as ``coordinates``.
        stops: Customers as written in the file.
        vehicle_capacity: Capacity of each (identical) vehicle.
        vehicle_count: Number of vehicles in ``problem``.
        fleet_fixed: True when the file limits the number of vehicles (Solomon).

    """

    name: str
    format: str
    path: Path
    problem: Problem
    stop_ids: tuple[str, ...]
    coordinates: np.ndarray
    coordinate_kind: str
    scale: int
    depot_coords: tuple[float, float]
    stops: tuple[InstanceStop, ...]
    vehicle_capacity: int
    vehicle_count: int
    fleet_fixed: bool

    def to_file_cost(self, integer_cost: int) -> float:
        """Convert an integer matrix cost to the file's convention."""
        if self.scale == 1:
            return int(integer_cost)
        return round(integer_cost / self.scale, 6)


@dataclass(frozen=True, slots=True)
class SolutionFile:
    """Routes and cost read from a CVRPLIB ``.sol`` file.

    Attributes:
        routes: Stop ids (``Instance.stop_ids`` values) per route.
        cost: The ``Cost`` line, or None when the file has none.

    """

    routes: tuple[tuple[str, ...], ...]
    cost: float | None


def load_instance(path: str | Path) -> Instance:
    """Parse an instance file, detecting its format from the content.

    Raises:
        ValueError: The file is missing, has an unknown format or an invalid line. The
            message names the file and, where possible, the line.

    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ValueError(f"{path}: file not found; pass the path of an instance file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the file as UTF-8 text: {exc}") from exc

    stripped = text.lstrip()
    if stripped.startswith("{"):
        return _parse_loggibud(path, text)
    if re.search(r"^\s*NODE_COORD_SECTION", text, re.MULTILINE) or re.search(
        r"^\s*DIMENSION\s*:", text, re.MULTILINE
    ):
        return _parse_cvrplib(path, text)
    if re.search(r"^\s*VEHICLE\s*$", text, re.MULTILINE) and "CUSTOMER" in text:
        return _parse_solomon(path, text)
    raise ValueError(
        f"{path}: unknown instance format; expected loggibud JSON, a CVRPLIB .vrp file "
        f"(with DIMENSION and NODE_COORD_SECTION) or a Solomon .txt file (with VEHICLE "
        f"and CUSTOMER sections)"
    )


def load_solution(path: str | Path, instance: Instance) -> SolutionFile:
    """Read a CVRPLIB ``.sol`` file (``Route #1: 1 2 3`` lines) for an instance.

    Customer numbers in the file are location indices (depot 0), so number ``k`` maps
    to the stop at location ``k``.

    Raises:
        ValueError: The file is missing or names a customer the instance lacks.

    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise ValueError(f"{path}: file not found; pass the path of a .sol file") from exc

    by_location = {stop.location: stop.id for stop in instance.problem.stops}
    routes: list[tuple[str, ...]] = []
    cost: float | None = None
    for line_no, line in enumerate(lines, start=1):
        match = re.match(r"^\s*Route\s*#\s*\d+\s*:(.*)$", line, re.IGNORECASE)
        if match:
            ids = []
            for token in match.group(1).split():
                if not token.isdigit() or int(token) not in by_location:
                    raise ValueError(
                        f"{path}:{line_no}: customer {token!r} is not in instance "
                        f"{instance.name}; check that the solution belongs to it"
                    )
                ids.append(by_location[int(token)])
            routes.append(tuple(ids))
            continue
        match = re.match(r"^\s*Cost\s*:?\s*([-+0-9.eE]+)", line)
        if match:
            cost = float(match.group(1))
    return SolutionFile(routes=tuple(routes), cost=cost)


def evaluate(instance: Instance, routes: list[list[str]] | tuple[tuple[str, ...], ...]) -> float:
    """Return the total distance of routes in the file's convention.

    Each route starts and ends at the depot. Only distance counts, as in the best-known
    costs of all three formats.

    Raises:
        ValueError: A stop id is not in the instance.

    """
    location_of = {stop.id: stop.location for stop in instance.problem.stops}
    depot = instance.problem.vehicles[0].depot
    matrix = instance.problem.distance
    total = 0
    for route in routes:
        if not route:
            continue
        try:
            path = [depot, *(location_of[stop_id] for stop_id in route), depot]
        except KeyError as exc:
            raise ValueError(f"stop id {exc.args[0]!r} is not in instance {instance.name}") from exc
        total += int(matrix[path[:-1], path[1:]].sum())
    return instance.to_file_cost(total)


def check_routes(
    instance: Instance, routes: list[list[str]] | tuple[tuple[str, ...], ...]
) -> list[str]:
    """Return the rule violations of routes: coverage, capacity, fleet size, time windows.

    An empty list means the routes are a feasible solution of the instance.
    """
    problem = instance.problem
    stops = {stop.id: stop for stop in problem.stops}
    vehicle = problem.vehicles[0]
    violations: list[str] = []

    seen: dict[str, int] = {}
    for route in routes:
        for stop_id in route:
            seen[stop_id] = seen.get(stop_id, 0) + 1
    for stop_id in stops:
        if seen.get(stop_id, 0) != 1:
            violations.append(f"stop {stop_id} visited {seen.get(stop_id, 0)} times")
    violations.extend(f"unknown stop {stop_id}" for stop_id in seen if stop_id not in stops)

    used = [route for route in routes if route]
    if instance.fleet_fixed and len(used) > instance.vehicle_count:
        violations.append(f"{len(used)} routes but only {instance.vehicle_count} vehicles")

    for number, route in enumerate(used, start=1):
        known = [stops[s] for s in route if s in stops]
        load = sum(stop.demand[0] for stop in known)
        if load > vehicle.capacity[0]:
            violations.append(f"route {number} load {load} exceeds capacity {vehicle.capacity[0]}")
        clock = vehicle.shift_start
        here = vehicle.depot
        for stop in known:
            clock += int(problem.duration[here, stop.location])
            if stop.time_window is not None:
                if clock > stop.time_window[1]:
                    violations.append(
                        f"route {number} reaches stop {stop.id} at {clock}, after its window "
                        f"closes at {stop.time_window[1]}"
                    )
                clock = max(clock, stop.time_window[0])
            clock += stop.service_time
            here = stop.location
        clock += int(problem.duration[here, vehicle.depot])
        if vehicle.shift_end is not None and clock > vehicle.shift_end:
            violations.append(
                f"route {number} returns at {clock}, after the depot closes at {vehicle.shift_end}"
            )
    return violations


def _parse_loggibud(path: Path, text: str) -> Instance:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}:{exc.lineno}: invalid JSON ({exc.msg}); fix the JSON syntax"
        ) from exc
    for key in ("origin", "vehicle_capacity", "deliveries"):
        if key not in data:
            raise ValueError(f"{path}: loggibud JSON lacks the {key!r} key; add it")
    try:
        depot = (float(data["origin"]["lat"]), float(data["origin"]["lng"]))
        capacity = int(data["vehicle_capacity"])
        stops = tuple(
            InstanceStop(
                file_id=str(delivery["id"]),
                coords=(float(delivery["point"]["lat"]), float(delivery["point"]["lng"])),
                demand=int(delivery["size"]),
                time_window=None,
                service_time=0,
            )
            for delivery in data["deliveries"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{path}: invalid loggibud delivery or origin ({exc!r}); each delivery needs "
            f"'id', 'point' with 'lng' and 'lat', and an integer 'size'"
        ) from exc

    coords = np.array([depot, *(stop.coords for stop in stops)], dtype=float)
    metres = haversine_matrix(coords)
    distance = np.rint(metres).astype(np.int64)
    duration = np.rint(metres / (LOGGIBUD_SPEED_KMH / 3.6)).astype(np.int64)
    name = str(data.get("name", path.stem))
    return _build(
        path, name, "loggibud", coords, "latlon", 1, stops, capacity, distance, duration,
        vehicle_count=None, dimension_unit="size", distance_unit="m",
    )


def _parse_cvrplib(path: Path, text: str) -> Instance:
    header: dict[str, str] = {}
    coords: dict[int, tuple[float, float]] = {}
    demands: dict[int, int] = {}
    depots: list[int] = []
    section = None
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.upper() == "EOF":
            break
        if line.endswith("_SECTION"):
            section = line.upper()
            continue
        if section is None or (":" in line and not line[0].isdigit() and line[0] != "-"):
            key, _, value = line.partition(":")
            header[key.strip().upper()] = value.strip()
            section = None
            continue
        parts = line.split()
        try:
            if section == "NODE_COORD_SECTION":
                coords[int(parts[0])] = (float(parts[1]), float(parts[2]))
            elif section == "DEMAND_SECTION":
                demands[int(parts[0])] = int(parts[1])
            elif section == "DEPOT_SECTION":
                if int(parts[0]) != -1:
                    depots.append(int(parts[0]))
            else:
                raise ValueError(f"section {section} is not supported")
        except (IndexError, ValueError) as exc:
            raise ValueError(
                f"{path}:{line_no}: invalid line {line!r} in {section} ({exc})"
            ) from exc

    weight_type = header.get("EDGE_WEIGHT_TYPE", "")
    if weight_type != "EUC_2D":
        raise ValueError(
            f"{path}: EDGE_WEIGHT_TYPE {weight_type!r} is not supported; only EUC_2D files "
            f"can be read"
        )
    if "CAPACITY" not in header:
        raise ValueError(f"{path}: CAPACITY line missing; add 'CAPACITY : <integer>'")
    if len(depots) != 1:
        raise ValueError(
            f"{path}: DEPOT_SECTION lists {len(depots)} depots; exactly one is supported"
        )
    if set(coords) != set(demands):
        missing = sorted(set(coords) ^ set(demands))[:5]
        raise ValueError(f"{path}: nodes {missing} lack a coordinate or a demand")
    if "DIMENSION" in header and int(header["DIMENSION"]) != len(coords):
        raise ValueError(
            f"{path}: DIMENSION is {header['DIMENSION']} but {len(coords)} nodes are listed"
        )

    depot_id = depots[0]
    customer_ids = [node for node in sorted(coords) if node != depot_id]
    stops = tuple(
        InstanceStop(str(node), coords[node], demands[node], None, 0) for node in customer_ids
    )
    xy = np.array([coords[depot_id], *(coords[node] for node in customer_ids)], dtype=float)
    delta = xy[:, None, :] - xy[None, :, :]
    # TSPLIB nint: round half up, not numpy's round half to even.
    distance = np.floor(np.sqrt((delta**2).sum(axis=2)) + 0.5).astype(np.int64)
    vehicles = int(header["VEHICLES"]) if "VEHICLES" in header else None
    return _build(
        path, header.get("NAME", path.stem), "cvrplib", xy, "xy", 1, stops,
        int(header["CAPACITY"]), distance, distance.copy(), vehicle_count=vehicles,
        dimension_unit="", distance_unit="",
    )


def _parse_solomon(path: Path, text: str) -> Instance:
    lines = text.splitlines()
    name = lines[0].strip() if lines else path.stem
    vehicle_count = capacity = None
    rows: list[tuple[int, list[float]]] = []
    for line_no, raw in enumerate(lines, start=1):
        parts = raw.split()
        if not parts or not parts[0].lstrip("-").isdigit():
            continue
        if vehicle_count is None and len(parts) == 2:
            vehicle_count, capacity = int(parts[0]), int(parts[1])
            continue
        if len(parts) != 7:
            raise ValueError(
                f"{path}:{line_no}: customer line has {len(parts)} fields; expected 7 (CUST NO., "
                f"XCOORD., YCOORD., DEMAND, READY TIME, DUE DATE, SERVICE TIME)"
            )
        try:
            rows.append((line_no, [float(p) for p in parts]))
        except ValueError as exc:
            raise ValueError(f"{path}:{line_no}: invalid number in {raw.strip()!r}") from exc
    if vehicle_count is None or capacity is None:
        raise ValueError(f"{path}: VEHICLE section with 'NUMBER CAPACITY' values not found")
    if not rows or int(rows[0][1][0]) != 0:
        raise ValueError(f"{path}: the first customer line must be the depot, CUST NO. 0")

    scale = 10
    depot_row = rows[0][1]
    stops = tuple(
        InstanceStop(
            file_id=str(int(values[0])),
            coords=(values[1], values[2]),
            demand=int(values[3]),
            time_window=(values[4], values[5]),
            service_time=values[6],
        )
        for _, values in rows[1:]
    )
    xy = np.array([(depot_row[1], depot_row[2]), *(s.coords for s in stops)], dtype=float)
    if not np.array_equal(xy, np.round(xy)):
        raise ValueError(f"{path}: coordinates must be integers for exact one-decimal truncation")
    xy_int = xy.astype(np.int64)
    delta = xy_int[:, None, :] - xy_int[None, :, :]
    squared = (delta**2).sum(axis=2)
    # floor(10 * sqrt(s)) computed exactly as isqrt(100 * s): the distance truncated to
    # one decimal, times 10.
    distance = np.vectorize(math.isqrt, otypes=[np.int64])(100 * squared)
    return _build(
        path, name, "solomon", xy, "xy", scale, stops, capacity, distance, distance.copy(),
        vehicle_count=vehicle_count, dimension_unit="", distance_unit="",
        depot_window=(depot_row[4], depot_row[5]), fleet_fixed=True,
    )


def _build(
    path: Path,
    name: str,
    fmt: str,
    coords: np.ndarray,
    coordinate_kind: str,
    scale: int,
    stops: tuple[InstanceStop, ...],
    capacity: int,
    distance: np.ndarray,
    duration: np.ndarray,
    *,
    vehicle_count: int | None,
    dimension_unit: str,
    distance_unit: str,
    depot_window: tuple[float, float] | None = None,
    fleet_fixed: bool = False,
) -> Instance:
    """Assemble the Problem and Instance shared by all formats."""
    stops = _with_unique_ids(stops)
    problem_stops = tuple(
        Stop(
            id=stop.stop_id,
            location=index,
            demand=(stop.demand,),
            service_time=round(stop.service_time * scale),
            time_window=(
                None
                if stop.time_window is None
                else (round(stop.time_window[0] * scale), round(stop.time_window[1] * scale))
            ),
        )
        for index, stop in enumerate(stops, start=1)
    )

    if vehicle_count is None:
        # The file does not fix the fleet: the minimum number of routes plus a 25%
        # margin (at least 3) leaves room for routes that cannot be packed tightly.
        total = sum(stop.demand for stop in stops)
        minimum = max(1, math.ceil(total / capacity)) if capacity > 0 else 1
        vehicle_count = minimum + max(3, math.ceil(0.25 * minimum))
    shift_start, shift_end = 0, None
    if depot_window is not None:
        shift_start = round(depot_window[0] * scale)
        shift_end = round(depot_window[1] * scale)
    width = len(str(vehicle_count))
    vehicles = tuple(
        Vehicle(
            id=f"v{number:0{width}d}",
            depot=0,
            capacity=(capacity,),
            shift_start=shift_start,
            shift_end=shift_end,
        )
        for number in range(1, vehicle_count + 1)
    )
    problem = Problem(
        stops=problem_stops,
        vehicles=vehicles,
        distance=distance,
        duration=duration,
        distance_unit=distance_unit,
        dimension_units=(dimension_unit,) if dimension_unit else (),
        coordinates=coords,
    )
    return Instance(
        name=name,
        format=fmt,
        path=path,
        problem=problem,
        stop_ids=tuple(stop.stop_id for stop in stops),
        coordinates=problem.coordinates,
        coordinate_kind=coordinate_kind,
        scale=scale,
        depot_coords=(float(coords[0, 0]), float(coords[0, 1])),
        stops=stops,
        vehicle_capacity=capacity,
        vehicle_count=vehicle_count,
        fleet_fixed=fleet_fixed,
    )


def _with_unique_ids(stops: tuple[InstanceStop, ...]) -> tuple[InstanceStop, ...]:
    """Fill ``stop_id``, appending ``#2``, ``#3``... to repeated file ids."""
    counts: dict[str, int] = {}
    result = []
    for stop in stops:
        counts[stop.file_id] = counts.get(stop.file_id, 0) + 1
        count = counts[stop.file_id]
        stop_id = stop.file_id if count == 1 else f"{stop.file_id}#{count}"
        result.append(replace(stop, stop_id=stop_id))
    return tuple(result)
