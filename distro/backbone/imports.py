"""Importers that load delivery stops and orders from files into the database.

Three formats are read (docs/import-formats.md has the details and examples):

* loggibud JSON: last-mile CVRP instances with latitude/longitude, one stop per delivery.
* CVRPLIB `.vrp` and Solomon `.txt`: planar benchmark instances, placed on the map by a linear
  projection around `PLANAR_ORIGIN`.
* An orders CSV: dealer orders placed through `place_order`, or stops at coordinates for
  orders owned by another system.

Every importer checks the whole file first and raises `ImportFileError` listing every bad row
before writing anything. The writes then run inside a savepoint of the caller's transaction, so
a failure on any row (for example too little stock) rolls back everything the import added.
The caller commits.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from distro.backbone.actors import SYSTEM, Actor
from distro.backbone.errors import ConflictError, DistroError, ImportFileError
from distro.backbone.events import record_event
from distro.backbone.fulfillment import create_stop, remove_from_route
from distro.backbone.models import (
    Dealer,
    Delivery,
    DeliveryStatus,
    OrderLine,
    Product,
    Rider,
    Shift,
    Vehicle,
    Warehouse,
)
from distro.backbone.orders import LineRequest, find_by_idempotency_key, place_order
from distro.routing.geo import EARTH_RADIUS_M
from distro.routing.instances import Instance, load_instance
from distro.settings import get_settings

logger = logging.getLogger(__name__)

PLANAR_ORIGIN = (51.5, 7.5)
"""Latitude and longitude where the depot of a CVRPLIB or Solomon instance is placed."""

CVRPLIB_METRES_PER_UNIT = 40.0
"""Map metres per CVRPLIB coordinate unit: the 0-1000 square of the X set becomes 40 km wide."""

CVRPLIB_SHIFT = (6 * 60, 22 * 60)
"""Shift of CVRPLIB vehicles (minutes after midnight); the files set no time limit."""

SOLOMON_SHIFT_START = 6 * 60
"""Solomon times are placed this many minutes after midnight (06:00)."""

LOGGIBUD_SHIFT = (8 * 60, 18 * 60)
"""Shift of loggibud vehicles (minutes after midnight); the files set no time limit."""

UNBOUNDED_KG = 10_000
"""capacity_kg of imported vehicles: instance demand is in units, so weight never binds."""

LOGGIBUD_SPARE = 0.3
"""Spare vehicles for loggibud: the minimum count plus this share, rounded up, at least 2."""

REPLACEABLE = (DeliveryStatus.PENDING,)
"""Stop statuses that `replace=True` may cancel: pending stops, also on draft routes, that no
rider has been given yet."""


@dataclass
class ImportResult:
    """Counts of the rows one import created, for the command line and the logs."""

    kind: str
    source: str
    day: date
    depot_code: str = ""
    deliveries_created: int = 0
    orders_created: int = 0
    order_lines: int = 0
    vehicles_created: int = 0
    riders_created: int = 0
    shifts_created: int = 0
    stops_replaced: int = 0
    skipped_existing: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """Return the counts as short lines for the command line."""
        lines = [f"Imported {self.kind} {self.source} for {self.day.isoformat()}"]
        if self.depot_code:
            lines.append(f"  depot {self.depot_code}")
        if self.orders_created or self.kind == "orders":
            lines.append(f"  {self.orders_created} orders with {self.order_lines} lines")
        lines.append(f"  {self.deliveries_created} delivery stops")
        if self.vehicles_created or self.riders_created or self.shifts_created:
            lines.append(
                f"  {self.vehicles_created} vehicles, {self.riders_created} riders and "
                f"{self.shifts_created} shifts created"
            )
        if self.stops_replaced:
            lines.append(f"  {self.stops_replaced} stops of the earlier import cancelled")
        if self.skipped_existing:
            lines.append(f"  {self.skipped_existing} rows skipped: imported before")
        lines.extend(f"  note: {note}" for note in self.notes)
        lines.append(f"  took {self.seconds:.1f} s")
        return lines


class _RowErrors:
    """Collects bad rows and raises one `ImportFileError` listing all of them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: list[dict[str, Any]] = []

    def add(self, row: int, reason: str) -> None:
        self.rows.append({"row": row, "reason": reason})

    def raise_if_any(self) -> None:
        if not self.rows:
            return
        self.rows.sort(key=lambda item: item["row"])
        raise ImportFileError(
            f"{self.path.name}: {len(self.rows)} bad row(s); nothing was imported. "
            "Fix the rows listed and import the file again.",
            rows=self.rows,
        )


def _file_error(path: Path, reason: str, row: int = 1) -> ImportFileError:
    return ImportFileError(
        f"{path.name}: {reason}; nothing was imported.", rows=[{"row": row, "reason": reason}]
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise _file_error(path, f"file {path} not found; check the path") from exc
    except UnicodeDecodeError as exc:
        raise _file_error(
            path, f"the file is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from exc


# --------------------------------------------------------------------------- shared helpers


def _depot_for(
    session: Session, code: str, name: str, latitude: float, longitude: float
) -> Warehouse:
    """Return the depot with `code`, creating it at the given point when it does not exist."""
    depot = session.exec(select(Warehouse).where(Warehouse.code == code)).first()
    if depot is not None:
        return depot
    depot = Warehouse(
        code=code,
        name=name,
        kind="warehouse",
        latitude=latitude,
        longitude=longitude,
        is_depot=True,
    )
    session.add(depot)
    session.flush()
    return depot


def _replace_previous(
    session: Session, actor: Actor, depot: Warehouse, day: date, source: str, replace: bool
) -> int:
    """Reject a second import of the same instance and day, or cancel the first one's stops.

    Returns:
        The number of earlier stops cancelled.

    Raises:
        ConflictError: Stops of this instance exist for the day and `replace` is False, or some
            of them are already assigned to riders or finished.

    """
    previous = list(
        session.exec(
            select(Delivery)
            .where(
                Delivery.depot_id == depot.id,
                Delivery.day == day,
                Delivery.source == source,
                Delivery.status != DeliveryStatus.CANCELLED,
            )
            .order_by(col(Delivery.id))
        )
    )
    if not previous:
        return 0
    if not replace:
        raise ConflictError(
            f"Instance {source} is already imported for {day.isoformat()} at depot {depot.code} "
            f"({len(previous)} stops). Pass --replace (replace=True) to cancel those stops and "
            "import the file again, or choose another day.",
            depot_code=depot.code,
            stops=len(previous),
        )

    locked = [stop for stop in previous if stop.status not in REPLACEABLE]
    if locked:
        raise ConflictError(
            f"{len(locked)} stops of the earlier import of {source} for {day.isoformat()} are "
            "already assigned to riders or finished, so the import cannot be replaced. Import "
            "the file for another day instead.",
            stops=len(locked),
        )

    for stop in previous:
        record_event(
            session,
            actor,
            "delivery",
            stop.id,
            "delivery_cancelled",
            from_state=stop.status,
            to_state=DeliveryStatus.CANCELLED,
            payload={"reason": f"replaced by a new import of {source}"},
        )
        stop.status = DeliveryStatus.CANCELLED
        remove_from_route(session, stop)
    return len(previous)


@dataclass(frozen=True, slots=True)
class _Fleet:
    count: int
    capacity_kg: int
    capacity_units: int
    start_min: int
    end_min: int
    label: str


def _ensure_fleet(
    session: Session, depot: Warehouse, day: date, fleet: _Fleet, result: ImportResult
) -> None:
    """Make sure `fleet.count` riders with vehicles have a shift at the depot on the day.

    Vehicles and riders are found by code (depot code plus a number) and reused across days;
    missing ones are created, and so are missing shifts.
    """
    prefix = depot.code[:34]
    width = max(2, len(str(fleet.count)))
    for number in range(1, fleet.count + 1):
        vehicle_code = f"{prefix}-V{number:0{width}d}"
        vehicle = session.exec(select(Vehicle).where(Vehicle.code == vehicle_code)).first()
        if vehicle is None:
            vehicle = Vehicle(
                code=vehicle_code,
                name=f"{fleet.label} vehicle {number}",
                capacity_kg=fleet.capacity_kg,
                capacity_units=fleet.capacity_units,
            )
            session.add(vehicle)
            session.flush()
            result.vehicles_created += 1

        rider_code = f"{prefix}-R{number:0{width}d}"
        rider = session.exec(select(Rider).where(Rider.code == rider_code)).first()
        if rider is None:
            rider = Rider(
                code=rider_code, name=f"{fleet.label} driver {number}", vehicle_id=vehicle.id
            )
            session.add(rider)
            session.flush()
            result.riders_created += 1

        shift = session.exec(
            select(Shift).where(Shift.rider_id == rider.id, Shift.day == day)
        ).first()
        if shift is None:
            session.add(
                Shift(
                    rider_id=rider.id,
                    vehicle_id=vehicle.id,
                    depot_id=depot.id,
                    day=day,
                    start_min=fleet.start_min,
                    end_min=fleet.end_min,
                )
            )
            result.shifts_created += 1
    session.flush()


def _code_part(name: str) -> str:
    """Upper-case a name and keep only letters, digits and dashes, for warehouse codes."""
    return re.sub(r"[^A-Z0-9-]+", "-", name.upper()).strip("-")


def _in_savepoint(session: Session, write: Callable[[], None]) -> None:
    """Run `write` in a savepoint, so an exception leaves the caller's transaction as it was."""
    with session.begin_nested():
        write()


# --------------------------------------------------------------------------- loggibud


def _check_loggibud(path: Path, text: str) -> dict[str, Any]:
    """Parse a loggibud JSON file and list every bad delivery.

    In the error report, `row` is the delivery's 1-based position in the `deliveries` list, or
    the JSON line for a syntax error.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _file_error(
            path, f"invalid JSON: {exc.msg} at column {exc.colno}; fix the JSON syntax", exc.lineno
        ) from exc
    if not isinstance(data, dict):
        raise _file_error(path, "the JSON is not an object; a loggibud instance is one JSON object")
    missing = [key for key in ("origin", "vehicle_capacity", "deliveries") if key not in data]
    if missing:
        raise _file_error(
            path,
            f"the JSON lacks the key(s) {', '.join(missing)}; a loggibud instance has name, "
            "origin, vehicle_capacity and deliveries",
        )

    errors = _RowErrors(path)
    capacity = data["vehicle_capacity"]
    if not _is_whole(capacity) or capacity <= 0:
        raise _file_error(path, f"vehicle_capacity {capacity!r} is not a positive whole number")
    if _point(data["origin"]) is None:
        raise _file_error(
            path,
            f"origin {data['origin']!r} is not a point; "
            f'use {{"lat": <-90..90>, "lng": <-180..180>}}',
        )
    if not isinstance(data["deliveries"], list) or not data["deliveries"]:
        raise _file_error(path, "deliveries is empty or not a list; add at least one delivery")

    for number, delivery in enumerate(data["deliveries"], start=1):
        if not isinstance(delivery, dict):
            errors.add(number, f"delivery {number} is not an object with id, point and size")
            continue
        delivery_id = str(delivery.get("id", "")).strip()
        if not delivery_id:
            errors.add(number, f"delivery {number} has no id; give each delivery an id")
        if _point(delivery.get("point")) is None:
            errors.add(
                number,
                f"delivery {delivery_id or number}: point {delivery.get('point')!r} is not a "
                'point; use {"lat": <-90..90>, "lng": <-180..180>}',
            )
        size = delivery.get("size")
        if not _is_whole(size) or size <= 0:
            errors.add(
                number,
                f"delivery {delivery_id or number}: size {size!r} is not a positive whole number",
            )
        elif size > capacity:
            errors.add(
                number,
                f"delivery {delivery_id or number}: size {size} is above the vehicle capacity "
                f"{capacity}, so no vehicle can carry it; split the delivery",
            )
    errors.raise_if_any()
    return data


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _point(value: Any) -> tuple[float, float] | None:
    """Return (lat, lng) of a loggibud point, or None when it is not a valid point."""
    if not isinstance(value, dict):
        return None
    lat, lng = value.get("lat"), value.get("lng")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lng)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return float(lat), float(lng)


def import_loggibud(
    session: Session,
    path: str | Path,
    day: date,
    actor: Actor = SYSTEM,
    *,
    replace: bool = False,
) -> ImportResult:
    """Import a loggibud CVRP instance as one day of delivery stops at its own depot.

    Creates (or reuses by code) a depot at the instance origin with the code
    `LOGGIBUD-<NAME>`, one pending stop per delivery (`external_id` = delivery id,
    `demand_units` = size, `demand_kg` = 0, `source` = instance name), and enough vehicles,
    riders and shifts for the day: the minimum number of vehicles plus 30% spare, at least 2.

    Args:
        session: Open session; the caller commits.
        path: The instance JSON file.
        day: Delivery day of the stops and shifts.
        actor: Recorded on the events.
        replace: Cancel the stops of an earlier import of the same instance and day first.

    Raises:
        ImportFileError: The file is unreadable or has bad deliveries; `details["rows"]` lists them.
        ConflictError: The instance is already imported for the day and `replace` is False.

    """
    started = time.perf_counter()
    path = Path(path)
    logger.info("Importing loggibud instance %s for %s", path, day)
    data = _check_loggibud(path, _read_text(path))

    name = str(data.get("name") or path.stem)
    source = name[:40]
    capacity = int(data["vehicle_capacity"])
    origin = _point(data["origin"])
    total = sum(int(delivery["size"]) for delivery in data["deliveries"])
    minimum = math.ceil(total / capacity)
    count = max(2, math.ceil(minimum * (1 + LOGGIBUD_SPARE)))

    result = ImportResult(kind="loggibud", source=source, day=day)

    # Published loggibud files repeat some deliveries (same id, point and size). The benchmark
    # counts each entry, so each becomes its own stop and a repeat gets "#2", "#3" appended.
    external_ids = []
    seen: Counter[str] = Counter()
    for delivery in data["deliveries"]:
        delivery_id = str(delivery["id"]).strip()[:76]
        seen[delivery_id] += 1
        external_ids.append(
            delivery_id if seen[delivery_id] == 1 else f"{delivery_id}#{seen[delivery_id]}"
        )
    repeats = sum(count - 1 for count in seen.values())
    if repeats:
        result.notes.append(
            f"{repeats} delivery id(s) repeat; repeats are imported as '<id>#2' stops"
        )

    def write() -> None:
        depot = _depot_for(
            session, f"LOGGIBUD-{_code_part(name)}"[:40], f"Loggibud {name} origin", *origin
        )
        result.depot_code = depot.code
        result.stops_replaced = _replace_previous(session, actor, depot, day, source, replace)
        for delivery, external_id in zip(data["deliveries"], external_ids, strict=True):
            lat, lng = _point(delivery["point"])
            create_stop(
                session,
                actor,
                depot_id=depot.id,
                day=day,
                latitude=lat,
                longitude=lng,
                demand_kg=0,
                demand_units=int(delivery["size"]),
                label=f"{name} {external_id[:12]}",
                source=source,
                external_id=external_id,
            )
            result.deliveries_created += 1
        _ensure_fleet(
            session,
            depot,
            day,
            _Fleet(count, UNBOUNDED_KG, capacity, *LOGGIBUD_SHIFT, label=f"Loggibud {name}"),
            result,
        )

    _in_savepoint(session, write)
    result.seconds = time.perf_counter() - started
    logger.info(
        "Imported loggibud %s: %d stops, %d vehicles needed (%d created) in %.1fs",
        name,
        result.deliveries_created,
        count,
        result.vehicles_created,
        result.seconds,
    )
    return result


# --------------------------------------------------------------------------- CVRPLIB and Solomon


def _check_cvrplib(path: Path, text: str) -> None:
    """List every bad line of a CVRPLIB file before the full parse."""
    errors = _RowErrors(path)
    capacity = None
    section = None
    demand_lines: list[tuple[int, int]] = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.upper() == "EOF":
            continue
        if line.upper().endswith("_SECTION"):
            section = line.upper()
            continue
        if ":" in line and not line[0].isdigit() and line[0] != "-":
            section = None
            key, _, value = line.partition(":")
            key, value = key.strip().upper(), value.strip()
            if key == "CAPACITY":
                if value.isdigit() and int(value) > 0:
                    capacity = int(value)
                else:
                    errors.add(line_no, f"CAPACITY {value!r} is not a positive whole number")
            elif key == "EDGE_WEIGHT_TYPE" and value != "EUC_2D":
                errors.add(
                    line_no,
                    f"EDGE_WEIGHT_TYPE {value!r} is not supported; "
                    "only EUC_2D files can be imported",
                )
            elif key == "DIMENSION" and not value.isdigit():
                errors.add(line_no, f"DIMENSION {value!r} is not a whole number")
            continue

        parts = line.split()
        if section == "NODE_COORD_SECTION":
            if (
                len(parts) != 3
                or not parts[0].isdigit()
                or not all(_is_number(p) for p in parts[1:])
            ):
                errors.add(line_no, f"node line {line!r} is not '<node> <x> <y>' with numbers")
        elif section == "DEMAND_SECTION":
            if len(parts) != 2 or not parts[0].isdigit() or not parts[1].isdigit():
                errors.add(
                    line_no, f"demand line {line!r} is not '<node> <demand>' with whole numbers"
                )
            else:
                demand_lines.append((line_no, int(parts[1])))
        elif section == "DEPOT_SECTION":
            if not re.fullmatch(r"-?\d+", line):
                errors.add(line_no, f"depot line {line!r} is not a node number or -1")
        else:
            errors.add(line_no, f"line {line!r} is outside any supported section")

    if capacity is None and not any("CAPACITY" in item["reason"] for item in errors.rows):
        errors.add(1, "CAPACITY line missing; add 'CAPACITY : <whole number>'")
    for line_no, demand in demand_lines:
        if capacity is not None and demand > capacity:
            errors.add(
                line_no,
                f"demand {demand} is above the vehicle "
                f"capacity {capacity}; no vehicle can carry it",
            )
    errors.raise_if_any()


def _check_solomon(path: Path, text: str) -> None:
    """List every bad line of a Solomon file before the full parse."""
    errors = _RowErrors(path)
    capacity = None
    saw_depot = False
    for line_no, raw in enumerate(text.splitlines(), start=1):
        parts = raw.split()
        if not parts or not re.fullmatch(r"-?\d+(\.\d*)?", parts[0]):
            continue
        if capacity is None and len(parts) == 2:
            if not all(p.isdigit() and int(p) > 0 for p in parts):
                errors.add(
                    line_no,
                    f"VEHICLE line {raw.strip()!r} is not 'NUMBER "
                    "CAPACITY' with positive whole numbers",
                )
            capacity = int(parts[1]) if parts[1].isdigit() else 0
            continue
        if len(parts) != 7 or not all(_is_number(p) for p in parts):
            errors.add(
                line_no,
                f"customer line {raw.strip()!r} does not have 7 numbers (CUST NO., XCOORD., "
                "YCOORD., DEMAND, READY TIME, DUE DATE, SERVICE TIME)",
            )
            continue
        number, _, _, demand, ready, due, service = (float(p) for p in parts)
        if not saw_depot:
            saw_depot = True
            if number != 0:
                errors.add(
                    line_no,
                    "the first customer line is customer "
                    f"{parts[0]}; it must be the depot, CUST NO. 0",
                )
            continue
        if ready > due:
            errors.add(
                line_no, f"customer {parts[0]}: READY TIME {parts[4]} is after DUE DATE {parts[5]}"
            )
        if demand < 0 or service < 0:
            errors.add(line_no, f"customer {parts[0]}: DEMAND and SERVICE TIME must be 0 or more")
        if capacity and demand > capacity:
            errors.add(
                line_no,
                f"customer {parts[0]}: demand {parts[3]} is above the vehicle capacity {capacity}",
            )
    if capacity is None:
        errors.add(1, "VEHICLE section with a 'NUMBER CAPACITY' line not found")
    errors.raise_if_any()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _load_planar(path: Path) -> Instance:
    """Check a CVRPLIB or Solomon file line by line, then parse it with the routing parser."""
    text = _read_text(path)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        raise _file_error(
            path, "this is a JSON file; import loggibud JSON with `distro import loggibud`"
        )
    is_cvrplib = re.search(r"^\s*(NODE_COORD_SECTION|DIMENSION\s*:)", text, re.MULTILINE)
    is_solomon = re.search(r"^\s*VEHICLE\s*$", text, re.MULTILINE) and "CUSTOMER" in text
    if is_cvrplib:
        _check_cvrplib(path, text)
    elif is_solomon:
        _check_solomon(path, text)
    else:
        raise _file_error(
            path,
            "unknown format; expected a CVRPLIB .vrp file (with DIMENSION and NODE_COORD_SECTION) "
            "or a Solomon .txt file (with VEHICLE and CUSTOMER sections)",
        )

    try:
        return load_instance(path)
    except ValueError as exc:
        # The routing parser names the line as "<path>:<line>: ..." where it can.
        match = re.match(rf"^{re.escape(str(path))}:(\d+):\s*(.*)$", str(exc), re.DOTALL)
        if match:
            raise _file_error(path, match.group(2), int(match.group(1))) from exc
        raise _file_error(path, str(exc).removeprefix(f"{path}: ")) from exc


def planar_to_latlon(
    x: float, y: float, origin_xy: tuple[float, float], metres_per_unit: float
) -> tuple[float, float]:
    """Place planar coordinates on the map, with the instance depot at `PLANAR_ORIGIN`.

    The projection is linear: x grows east, y grows north, and one unit is `metres_per_unit`
    metres. A degree of latitude is 111,195 m, one degree of arc on the sphere that the
    haversine distances use, and a degree of longitude shrinks by the cosine of the origin's
    latitude.
    Over the tens of kilometres of an instance, haversine distances on the map stay
    proportional to the file's Euclidean distances within 1% (0.7% on X-n1001-k43).
    """
    latitude0, longitude0 = PLANAR_ORIGIN
    metres_per_degree = math.radians(1.0) * EARTH_RADIUS_M
    north_m = (y - origin_xy[1]) * metres_per_unit
    east_m = (x - origin_xy[0]) * metres_per_unit
    latitude = latitude0 + north_m / metres_per_degree
    longitude = longitude0 + east_m / (metres_per_degree * math.cos(math.radians(latitude0)))
    return round(latitude, 7), round(longitude, 7)


def import_cvrplib(
    session: Session,
    path: str | Path,
    day: date,
    actor: Actor = SYSTEM,
    *,
    replace: bool = False,
) -> ImportResult:
    """Import a CVRPLIB `.vrp` or a Solomon `.txt` instance as one day of stops at its own depot.

    The depot is placed at `PLANAR_ORIGIN` and customers around it by `planar_to_latlon`.

    * CVRPLIB: one unit is `CVRPLIB_METRES_PER_UNIT` metres and vehicles work `CVRPLIB_SHIFT`.
      The fleet is the routing parser's: the minimum route count plus 25%, at least 3 spare.
      Stops have no window and no service time.
    * Solomon: one time unit becomes `f` minutes after 06:00, where `f` is 1 unless the
      depot's due date would end the shift after midnight (then `f` = 1080 / due date). One
      distance unit is `f` times the distance the settings' speed covers in a minute, divided
      by the road factor, so the board's travel times match the file's times. Ready and due
      times become the stop's window, service time its service minutes, and the fleet is the
      file's VEHICLE NUMBER with its CAPACITY.

    Demand goes to `demand_units`; `demand_kg` is 0 and vehicles get `UNBOUNDED_KG`.

    Raises:
        ImportFileError: The file is unreadable or has bad lines; `details["rows"]` lists them.
        ConflictError: The instance is already imported for the day and `replace` is False.

    """
    started = time.perf_counter()
    path = Path(path)
    logger.info("Importing planar instance %s for %s", path, day)
    instance = _load_planar(path)
    is_solomon = instance.format == "solomon"
    settings = get_settings()

    if is_solomon:
        depot_due = instance.problem.vehicles[0].shift_end / instance.scale
        depot_ready = instance.problem.vehicles[0].shift_start / instance.scale
        time_factor = (
            min(1.0, (24 * 60 - SOLOMON_SHIFT_START) / depot_due) if depot_due > 0 else 1.0
        )
        metres_per_unit = time_factor * settings.speed_kmh * 1000 / 60 / settings.road_factor
        shift = (
            SOLOMON_SHIFT_START + round(depot_ready * time_factor),
            SOLOMON_SHIFT_START + round(depot_due * time_factor),
        )
        code = f"SOLOMON-{_code_part(instance.name)}"[:40]
    else:
        time_factor = 1.0
        metres_per_unit = CVRPLIB_METRES_PER_UNIT
        shift = CVRPLIB_SHIFT
        code = f"CVRPLIB-{_code_part(instance.name)}"[:40]

    source = instance.name[:40]
    result = ImportResult(kind=instance.format, source=source, day=day)
    result.notes.append(
        f"projection: 1 file unit = {metres_per_unit:.1f} "
        f"m around {PLANAR_ORIGIN[0]}, {PLANAR_ORIGIN[1]}"
    )
    if is_solomon and time_factor < 1.0:
        result.notes.append(f"times scaled by {time_factor:.3f} to fit the shift into one day")
    depot_lat, depot_lon = PLANAR_ORIGIN

    def write() -> None:
        depot = _depot_for(
            session, code, f"{instance.format} {instance.name} depot", depot_lat, depot_lon
        )
        result.depot_code = depot.code
        result.stops_replaced = _replace_previous(session, actor, depot, day, source, replace)
        for stop in instance.stops:
            lat, lon = planar_to_latlon(*stop.coords, instance.depot_coords, metres_per_unit)
            window = None
            service = 0
            if is_solomon and stop.time_window is not None:
                start = SOLOMON_SHIFT_START + round(stop.time_window[0] * time_factor)
                end = SOLOMON_SHIFT_START + round(stop.time_window[1] * time_factor)
                window = (start, max(end, start + 1))
                service = round(stop.service_time * time_factor)
            create_stop(
                session,
                actor,
                depot_id=depot.id,
                day=day,
                latitude=lat,
                longitude=lon,
                demand_kg=0,
                demand_units=stop.demand,
                label=f"{instance.name} customer {stop.file_id}",
                window=window,
                service_min=service,
                source=source,
                external_id=stop.file_id,
            )
            result.deliveries_created += 1
        _ensure_fleet(
            session,
            depot,
            day,
            _Fleet(
                instance.vehicle_count,
                UNBOUNDED_KG,
                instance.vehicle_capacity,
                *shift,
                label=f"{instance.name}",
            ),
            result,
        )

    _in_savepoint(session, write)
    result.seconds = time.perf_counter() - started
    logger.info(
        "Imported %s %s: %d stops, %d vehicles (%d created) in %.1fs",
        instance.format,
        instance.name,
        result.deliveries_created,
        instance.vehicle_count,
        result.vehicles_created,
        result.seconds,
    )
    return result


# --------------------------------------------------------------------------- orders CSV

CSV_COLUMNS = (
    "dealer_code",
    "latitude",
    "longitude",
    "sku",
    "quantity",
    "window_start",
    "window_end",
    "order_ref",
    "delivery_day",
    "depot_code",
    "label",
    "address",
)
"""Columns an orders CSV may have; `import_orders_csv` lists the required ones."""


@dataclass
class _CsvRow:
    line: int
    sku: str
    quantity: int
    dealer_code: str = ""
    point: tuple[float, float] | None = None
    window: tuple[int, int] | None = None
    order_ref: str = ""
    day: date | None = None
    depot_code: str = ""
    label: str = ""
    address: str = ""


@dataclass
class _CsvGroup:
    """Rows that form one order (dealer rows) or one stop (coordinate rows)."""

    rows: list[_CsvRow]

    @property
    def first(self) -> _CsvRow:
        return self.rows[0]


def _parse_clock(text: str) -> int | None:
    """Return HH:MM as minutes after midnight (00:00-24:00), or None when it is not a time."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes >= 60 or hours * 60 + minutes > 24 * 60:
        return None
    return hours * 60 + minutes


def _read_csv(path: Path, errors: _RowErrors) -> list[tuple[int, dict[str, str]]]:
    """Read the CSV into (line number, row) pairs; the header is line 1.

    A semicolon is taken as the delimiter when the header has semicolons and no commas, as
    spreadsheets in many European locales write.
    """
    text = _read_text(path)
    if not text.strip():
        raise _file_error(
            path,
            "the file is empty; the first line must be the "
            "header, for example dealer_code,sku,quantity",
        )
    header_line = text.splitlines()[0]
    delimiter = ";" if ";" in header_line and "," not in header_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    header = [name.strip().lower() for name in next(reader)]
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        errors.add(
            1,
            f"unknown column(s) {', '.join(repr(n) for n in unknown)}; "
            f"the columns are {', '.join(CSV_COLUMNS)}",
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        errors.add(1, f"column(s) {', '.join(repeated)} appear more than once; keep one of each")
    missing = [name for name in ("sku", "quantity") if name not in header]
    if "dealer_code" not in header and not {"latitude", "longitude"} <= set(header):
        missing.append("dealer_code (or latitude and longitude)")
    if missing:
        errors.add(1, f"missing column(s) {', '.join(missing)}; add them to the header line")
    if ("window_start" in header) != ("window_end" in header):
        errors.add(
            1, "window_start and window_end come together; add the missing one or remove both"
        )
    errors.raise_if_any()

    rows = []
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            errors.add(
                reader.line_num,
                f"{len(values)} values but the header has {len(header)} columns; check for a "
                "missing or extra delimiter",
            )
            continue
        rows.append(
            (
                reader.line_num,
                {name: value.strip() for name, value in zip(header, values, strict=True)},
            )
        )
    if not rows and not errors.rows:
        raise _file_error(path, "the file has a header but no rows; add one row per order line")
    return rows


def _parse_csv_row(
    line: int, values: dict[str, str], default_day: date, errors: _RowErrors
) -> _CsvRow | None:
    """Turn one CSV row into a `_CsvRow`, adding a reason to `errors` for each bad value."""
    before = len(errors.rows)

    sku = values.get("sku", "").upper()
    if not sku:
        errors.add(line, "sku is empty; give the product's SKU, for example SKU-101")

    raw_quantity = values.get("quantity", "")
    quantity = 0
    if not re.fullmatch(r"\+?\d+", raw_quantity) or int(raw_quantity) <= 0:
        errors.add(
            line, f'quantity "{raw_quantity}" is not a whole number above 0; use a positive integer'
        )
    else:
        quantity = int(raw_quantity)

    dealer_code = values.get("dealer_code", "").upper()
    point = None
    if not dealer_code:
        raw_lat, raw_lon = values.get("latitude", ""), values.get("longitude", "")
        if not raw_lat and not raw_lon:
            errors.add(
                line,
                "neither dealer_code nor latitude/longitude is set; fill dealer_code "
                "for a dealer order, or latitude and longitude for a delivery stop",
            )
        else:
            try:
                lat, lon = float(raw_lat), float(raw_lon)
            except ValueError:
                errors.add(
                    line,
                    f'latitude "{raw_lat}" / longitude "{raw_lon}" are '
                    "not decimal numbers; use degrees such as 51.51, 7.47",
                )
            else:
                if -90 <= lat <= 90 and -180 <= lon <= 180:
                    point = (lat, lon)
                else:
                    errors.add(
                        line,
                        f"latitude {lat} / longitude {lon} are out of range; "
                        "latitude is -90..90 and longitude -180..180",
                    )

    window = None
    raw_start, raw_end = values.get("window_start", ""), values.get("window_end", "")
    if raw_start or raw_end:
        start, end = _parse_clock(raw_start), _parse_clock(raw_end)
        if start is None or end is None:
            bad = raw_start if start is None else raw_end
            errors.add(
                line,
                f'window time "{bad}" is not a time of day; use HH:MM between '
                "00:00 and 24:00, and fill both window_start and window_end",
            )
        elif start >= end:
            errors.add(
                line,
                f"window_start {raw_start} is not before window_end "
                f"{raw_end}; give the earlier time first",
            )
        else:
            window = (start, end)

    day = default_day
    raw_day = values.get("delivery_day", "")
    if raw_day:
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            errors.add(line, f'delivery_day "{raw_day}" is not a date; use YYYY-MM-DD')

    if len(errors.rows) > before:
        return None
    return _CsvRow(
        line=line,
        sku=sku,
        quantity=quantity,
        dealer_code=dealer_code,
        point=point,
        window=window,
        order_ref=values.get("order_ref", ""),
        day=day,
        depot_code=values.get("depot_code", "").upper(),
        label=values.get("label", ""),
        address=values.get("address", ""),
    )


def _group_rows(rows: Sequence[_CsvRow], errors: _RowErrors) -> list[_CsvGroup]:
    """Group rows into orders or stops and check that each group agrees on day, window and place."""
    groups: dict[tuple, _CsvGroup] = {}
    for row in rows:
        if row.order_ref:
            key: tuple = (
                ("dealer", row.dealer_code, row.order_ref)
                if row.dealer_code
                else ("stop", row.order_ref)
            )
        else:
            key = ("row", row.line)
        group = groups.get(key)
        if group is None:
            groups[key] = _CsvGroup([row])
            continue

        first = group.first
        reference = f"order_ref {row.order_ref}"
        if row.day != first.day:
            errors.add(
                row.line,
                f"delivery_day {row.day} differs from line {first.line} "
                f"of {reference}; give every row of one order the same day",
            )
        elif row.window != first.window:
            errors.add(
                row.line,
                f"the window differs from line {first.line} of "
                f"{reference}; give every row of one order the same window",
            )
        elif not row.dealer_code and (
            row.point != first.point or row.depot_code != first.depot_code
        ):
            errors.add(
                row.line,
                "latitude/longitude or depot_code differ from line "
                f"{first.line} of {reference}; one order_ref is one stop",
            )
        else:
            group.rows.append(row)
    return list(groups.values())


def _csv_idempotency_key(digest: str, row: _CsvRow) -> str:
    """Key that makes importing the same file for the same day return the orders placed before."""
    reference = row.order_ref or f"line-{row.line}"
    return f"csv:{digest}:{row.day.isoformat()}:{row.dealer_code}:{reference}"[:120]


def import_orders_csv(
    session: Session, path: str | Path, day: date, actor: Actor = SYSTEM
) -> ImportResult:
    """Import orders and delivery stops from a CSV file, all or nothing.

    Each row is one line: `sku` and `quantity`, and either `dealer_code` (a dealer order,
    placed through `place_order` with every validation) or `latitude` and `longitude` (a stop
    for an order owned by another system, served from `depot_code` or the default depot, with
    `demand_kg` = product weight x quantity rounded up and `demand_units` = quantity). Rows
    that share `order_ref` (and the dealer) form one order or one stop; without `order_ref`
    each row is its own. `window_start`/`window_end` (HH:MM) and `delivery_day` (YYYY-MM-DD,
    default `day`) are optional.

    Importing the same file for the same day again skips dealer orders placed before (each
    carries an idempotency key made of the file's SHA-256 and its line or order_ref), and
    skips stops whose `order_ref` was imported before.

    Raises:
        ImportFileError: Any row is bad or any order fails validation (stock, credit, pack
            size); `details["rows"]` lists every such row and nothing is written.

    """
    started = time.perf_counter()
    path = Path(path)
    logger.info("Importing orders CSV %s for %s", path, day)
    errors = _RowErrors(path)

    raw_rows = _read_csv(path, errors)
    parsed = [_parse_csv_row(line, values, day, errors) for line, values in raw_rows]
    rows = [row for row in parsed if row is not None]
    _check_references(session, rows, errors)
    groups = _group_rows(rows, errors)
    errors.raise_if_any()

    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    result = ImportResult(kind="orders", source=path.name, day=day)
    products = {
        p.sku: p
        for p in session.exec(select(Product).where(col(Product.sku).in_({r.sku for r in rows})))
    }
    dealers = {
        d.code: d
        for d in session.exec(
            select(Dealer).where(
                col(Dealer.code).in_({r.dealer_code for r in rows if r.dealer_code})
            )
        )
    }
    default_depot = _default_depot(session)

    with session.begin_nested() as outer:
        for group in groups:
            try:
                with session.begin_nested():
                    if group.first.dealer_code:
                        _place_csv_order(session, actor, group, dealers, digest, result)
                    else:
                        _create_csv_stop(session, actor, group, products, default_depot, result)
            except DistroError as exc:
                _report_group_failure(group, exc, errors)
        if errors.rows:
            outer.rollback()
    errors.raise_if_any()

    result.seconds = time.perf_counter() - started
    logger.info(
        "Imported orders CSV %s: %d orders, %d lines, %d stops, %d skipped in %.1fs",
        path.name,
        result.orders_created,
        result.order_lines,
        result.deliveries_created,
        result.skipped_existing,
        result.seconds,
    )
    return result


def _check_references(session: Session, rows: Sequence[_CsvRow], errors: _RowErrors) -> None:
    """Check that every SKU, dealer code and depot code in the file exists."""
    skus = {row.sku for row in rows}
    active = {
        p.sku
        for p in session.exec(
            select(Product).where(col(Product.sku).in_(skus), col(Product.active).is_(True))
        )
    }
    codes = {row.dealer_code for row in rows if row.dealer_code}
    dealers = {
        d.code
        for d in session.exec(
            select(Dealer).where(col(Dealer.code).in_(codes), col(Dealer.active).is_(True))
        )
    }
    depot_codes = {row.depot_code for row in rows if row.depot_code}
    depots = {
        w.code
        for w in session.exec(
            select(Warehouse).where(
                col(Warehouse.code).in_(depot_codes), col(Warehouse.is_depot).is_(True)
            )
        )
    }
    needs_default = any(not row.dealer_code and not row.depot_code for row in rows)
    default_depot = _default_depot(session) if needs_default else None

    for row in rows:
        if row.sku not in active:
            errors.add(
                row.line, f'sku "{row.sku}" is not an active product; use a SKU from the catalog'
            )
        if row.dealer_code and row.dealer_code not in dealers:
            errors.add(
                row.line,
                f'dealer_code "{row.dealer_code}" is not an active dealer; '
                "use the code of an existing dealer, such as D-0001",
            )
        if not row.dealer_code and row.depot_code and row.depot_code not in depots:
            errors.add(
                row.line,
                f'depot_code "{row.depot_code}" is not a depot; '
                "use the code of a warehouse that is a depot",
            )
        if needs_default and default_depot is None and not row.dealer_code and not row.depot_code:
            errors.add(
                row.line,
                "no depot exists to serve this stop; create a depot warehouse or fill depot_code",
            )


def _default_depot(session: Session) -> Warehouse | None:
    """Return the depot that serves CSV stops without a depot_code: the oldest non-dealer depot."""
    statement = (
        select(Warehouse)
        .where(col(Warehouse.is_depot).is_(True), Warehouse.kind != "dealer")
        .order_by(col(Warehouse.id))
        .limit(1)
    )
    return session.exec(statement).first()


def _place_csv_order(
    session: Session,
    actor: Actor,
    group: _CsvGroup,
    dealers: dict[str, Dealer],
    digest: str,
    result: ImportResult,
) -> None:
    first = group.first
    key = _csv_idempotency_key(digest, first)
    if find_by_idempotency_key(session, key) is not None:
        result.skipped_existing += len(group.rows)
        return
    order = place_order(
        session,
        actor,
        lines=[LineRequest(sku=row.sku, quantity=row.quantity) for row in group.rows],
        dealer_id=dealers[first.dealer_code].id,
        delivery_day=first.day,
        window=first.window,
        idempotency_key=key,
        note=f"order_ref {first.order_ref}" if first.order_ref else "",
        entered_by=actor.username,
    )
    result.orders_created += 1
    result.order_lines += len(
        list(session.exec(select(OrderLine.id).where(OrderLine.order_id == order.id)))
    )
    result.deliveries_created += len(
        list(session.exec(select(Delivery.id).where(Delivery.order_id == order.id)))
    )


def _create_csv_stop(
    session: Session,
    actor: Actor,
    group: _CsvGroup,
    products: dict[str, Product],
    default_depot: Warehouse | None,
    result: ImportResult,
) -> None:
    first = group.first
    if first.depot_code:
        depot = session.exec(select(Warehouse).where(Warehouse.code == first.depot_code)).one()
    else:
        depot = default_depot
    external_id = first.order_ref or f"line-{first.line}"
    if first.order_ref:
        existing = session.exec(
            select(Delivery.id).where(
                Delivery.source == "csv",
                Delivery.external_id == external_id[:80],
                Delivery.day == first.day,
                Delivery.depot_id == depot.id,
                Delivery.status != DeliveryStatus.CANCELLED,
            )
        ).first()
        if existing is not None:
            result.skipped_existing += len(group.rows)
            return

    weight = sum(products[row.sku].weight_kg * row.quantity for row in group.rows)
    create_stop(
        session,
        actor,
        depot_id=depot.id,
        day=first.day,
        latitude=first.point[0],
        longitude=first.point[1],
        demand_kg=math.ceil(round(weight, 6)),
        demand_units=sum(row.quantity for row in group.rows),
        label=(first.label or first.order_ref or f"CSV line {first.line}")[:200],
        address=first.address[:300],
        window=first.window,
        source="csv",
        external_id=external_id[:80],
    )
    result.deliveries_created += 1
    if result.depot_code and result.depot_code != depot.code:
        result.depot_code = "several"
    elif not result.depot_code:
        result.depot_code = depot.code


def _report_group_failure(group: _CsvGroup, exc: DistroError, errors: _RowErrors) -> None:
    """Add the backbone's rejection of one order to the rows it concerns."""
    lines = exc.details.get("lines") if isinstance(exc.details.get("lines"), list) else []
    by_sku = {row.sku: row for row in group.rows}
    reported = False
    for item in lines:
        if not isinstance(item, dict):
            continue
        row = by_sku.get(str(item.get("sku", "")).upper())
        if row is None:
            continue
        if item.get("message"):
            reason = item["message"]
        elif "available" in item:
            reason = (
                f"not enough stock of {row.sku}: {item['available']} available, "
                f"{item.get('requested')} requested; lower the quantity or order it for a later day"
            )
        else:
            reason = exc.message
        errors.add(row.line, f"{reason} ({exc.code})")
        reported = True
    if not reported:
        errors.add(group.first.line, f"{exc.message} ({exc.code})")
