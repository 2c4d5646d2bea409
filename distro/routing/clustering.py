"""Zones of nearby stops, and cutting very large problems into smaller ones."""

from __future__ import annotations

import logging
import math

import numpy as np

from distro.routing.geo import EARTH_RADIUS_M
from distro.routing.problem import Problem, Vehicle

logger = logging.getLogger(__name__)

#: Landmarks used to embed locations by their matrix distances when a problem has no
#: coordinates.
_N_LANDMARKS = 8


def cluster_zones(points: np.ndarray, n_zones: int, seed: int = 0) -> np.ndarray:
    """Group points into zones of nearby points with k-means.

    Points are projected onto a local equirectangular plane in metres around their
    mean latitude, which keeps east-west and north-south distances comparable.

    Args:
        points: Array of shape ``(n, 2)`` with latitude and longitude in degrees.
        n_zones: Number of zones wanted; capped at the number of points.
        seed: Seed of the k-means initialisation.

    Returns:
        Integer array of length ``n`` with a zone label in ``0..n_zones-1`` per point.

    """
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points have shape {pts.shape}; pass an (n, 2) array of lat, lon")
    if n_zones < 1:
        raise ValueError(f"n_zones is {n_zones}; pass at least 1")
    if len(pts) == 0:
        return np.zeros(0, dtype=np.int64)
    lat0 = np.radians(pts[:, 0].mean())
    xy = np.column_stack(
        (
            EARTH_RADIUS_M * np.radians(pts[:, 1]) * math.cos(lat0),
            EARTH_RADIUS_M * np.radians(pts[:, 0]),
        )
    )
    return _kmeans(xy, n_zones, seed)


def split_problem(problem: Problem, max_stops: int = 1000, seed: int = 0) -> list[Problem]:
    """Cut a problem into parts of at most ``max_stops`` stops each.

    Each stop goes to its nearest depot, and a depot's stops are cut into k-means zones
    until every zone has at most ``max_stops`` stops. A depot's vehicles are shared
    out by demand: each vehicle goes to the zone whose demand is least covered. When a
    depot has fewer vehicles than zones, zones without a vehicle join the zone with
    the most vehicles, which can make that part larger than ``max_stops``.

    The parts share the original matrices, so location indices stay valid.

    Args:
        problem: The problem to cut.
        max_stops: Maximum stops per part. Problems at or below it are returned whole.
        seed: Seed of the k-means initialisation.

    """
    if max_stops < 1:
        raise ValueError(f"max_stops is {max_stops}; pass at least 1")
    if len(problem.stops) <= max_stops:
        return [problem]

    depots = sorted({v.depot for v in problem.vehicles})
    locations = np.array([s.location for s in problem.stops], dtype=np.int64)
    round_trip = problem.distance[np.ix_(depots, locations)] + problem.distance[
        np.ix_(locations, depots)
    ].T
    nearest_depot = np.asarray(depots)[np.argmin(round_trip, axis=0)]

    features = _location_features(problem)
    parts: list[Problem] = []
    for depot in depots:
        stop_indices = np.flatnonzero(nearest_depot == depot)
        vehicles = [v for v in problem.vehicles if v.depot == depot]
        if len(stop_indices) == 0:
            continue
        zones = _zones_up_to(features[locations[stop_indices]], max_stops, seed)
        groups = [stop_indices[zones == z] for z in range(int(zones.max()) + 1)]
        groups = [g for g in groups if len(g)]
        shares = _apportion(problem, vehicles, groups)
        groups, shares = _merge_unserved(groups, shares)
        for group, fleet in zip(groups, shares, strict=True):
            parts.append(
                Problem(
                    stops=tuple(problem.stops[i] for i in group),
                    vehicles=tuple(fleet),
                    distance=problem.distance,
                    duration=problem.duration,
                    distance_unit=problem.distance_unit,
                    dimension_units=problem.dimension_units,
                    coordinates=problem.coordinates,
                )
            )
    return parts


def _merge_unserved(
    groups: list[np.ndarray], shares: list[list[Vehicle]]
) -> tuple[list[np.ndarray], list[list[Vehicle]]]:
    """Move the stops of zones that got no vehicle into the zone with the most vehicles.

    This happens only when a depot has fewer vehicles than zones. The receiving part
    can then exceed the stop limit.
    """
    served = [i for i, fleet in enumerate(shares) if fleet]
    unserved = [i for i, fleet in enumerate(shares) if not fleet]
    if not unserved:
        return groups, shares
    receiver = max(served, key=lambda i: len(shares[i]))
    merged = np.concatenate([groups[receiver], *(groups[i] for i in unserved)])
    new_groups = [merged if i == receiver else groups[i] for i in served]
    return new_groups, [shares[i] for i in served]


def _location_features(problem: Problem) -> np.ndarray:
    """Return a 2-D point per location for clustering.

    Coordinates are used when the problem has them (lat/lon is projected like in
    ``cluster_zones``). Otherwise each location is described by its matrix distances
    to a few spread-out landmark locations.
    """
    if problem.coordinates is not None:
        coords = problem.coordinates
        if np.all(np.abs(coords[:, 0]) <= 90) and np.all(np.abs(coords[:, 1]) <= 180):
            lat0 = np.radians(coords[:, 0].mean())
            return np.column_stack(
                (np.radians(coords[:, 1]) * math.cos(lat0), np.radians(coords[:, 0]))
            )
        return np.asarray(coords, dtype=float)

    distance = problem.distance
    landmarks = [0]
    closest = distance[0].astype(float)
    for _ in range(min(_N_LANDMARKS, problem.n_locations) - 1):
        far = int(np.argmax(closest))
        landmarks.append(far)
        closest = np.minimum(closest, distance[far])
    return distance[landmarks].T.astype(float)


def _zones_up_to(features: np.ndarray, max_stops: int, seed: int) -> np.ndarray:
    """Label rows with zones of at most ``max_stops`` rows, splitting big zones again."""
    n = len(features)
    labels = np.zeros(n, dtype=np.int64)
    if n <= max_stops:
        return labels
    n_zones = math.ceil(n / max_stops)
    first = _kmeans(features, n_zones, seed)
    next_label = 0
    for zone in range(n_zones):
        members = np.flatnonzero(first == zone)
        if len(members) == 0:
            continue
        if len(members) == n:
            # k-means put everything in one zone (identical points): cut by index.
            sub = np.arange(len(members)) // max_stops
        else:
            sub = _zones_up_to(features[members], max_stops, seed)
        labels[members] = sub + next_label
        next_label += int(sub.max()) + 1
    return labels


def _kmeans(features: np.ndarray, n_zones: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    n_zones = min(n_zones, len(features))
    if n_zones <= 1:
        return np.zeros(len(features), dtype=np.int64)
    model = KMeans(n_clusters=n_zones, n_init=4, random_state=seed)
    return model.fit_predict(features).astype(np.int64)


def _apportion(
    problem: Problem, vehicles: list[Vehicle], groups: list[np.ndarray]
) -> list[list[Vehicle]]:
    """Share vehicles among stop groups in proportion to the groups' demand.

    NOTE: vehicles are handed out whole, so with little spare fleet capacity a zone can
    get less capacity than its demand, and the solver then leaves stops unassigned
    that a whole-problem solve would serve.
    """
    n_dims = problem.n_dimensions
    demand = np.array(
        [
            [sum(problem.stops[i].demand[d] for i in group) for d in range(n_dims)]
            for group in groups
        ],
        dtype=float,
    ).reshape(len(groups), n_dims)
    total_capacity = np.array(
        [sum(v.capacity[d] for v in vehicles) for d in range(n_dims)], dtype=float
    )
    # Measure demand in the dimension that uses the largest share of the fleet.
    usage = demand.sum(axis=0) / np.maximum(total_capacity, 1)
    dim = int(np.argmax(usage)) if n_dims else 0
    needed = demand[:, dim] if n_dims else np.array([len(g) for g in groups], dtype=float)
    if needed.sum() == 0:
        needed = np.array([len(g) for g in groups], dtype=float)

    shares: list[list[Vehicle]] = [[] for _ in groups]
    assigned = np.zeros(len(groups))
    ordered = sorted(vehicles, key=lambda v: -(v.capacity[dim] if n_dims else 0))
    for vehicle in ordered:
        # Zones without a vehicle come first, then the least covered share of demand.
        coverage = np.where(assigned == 0, -1.0, assigned / np.maximum(needed, 1e-9))
        target = int(np.argmin(coverage))
        shares[target].append(vehicle)
        assigned[target] += vehicle.capacity[dim] if n_dims else 1
    return shares
