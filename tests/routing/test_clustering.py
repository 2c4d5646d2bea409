"""Zones for the board and the split of very large problems."""

from __future__ import annotations

import numpy as np

from distro.routing.clustering import cluster_zones, split_problem
from distro.routing.problem import Vehicle
from tests.routing.helpers import grid_problem


def test_cluster_zones_separates_cities():
    """Points around two cities far apart fall into two zones, one per city."""
    rng = np.random.default_rng(0)
    rio = rng.normal([-22.9, -43.2], 0.02, size=(20, 2))
    sao_paulo = rng.normal([-23.55, -46.63], 0.02, size=(20, 2))
    labels = cluster_zones(np.vstack([rio, sao_paulo]), n_zones=2, seed=0)
    assert len(set(labels[:20])) == 1
    assert len(set(labels[20:])) == 1
    assert labels[0] != labels[20]


def test_cluster_zones_same_seed_same_labels():
    """The same seed gives the same zones."""
    points = np.random.default_rng(1).uniform([-23, -44], [-22, -43], size=(50, 2))
    assert cluster_zones(points, 4, seed=7).tolist() == cluster_zones(points, 4, seed=7).tolist()


def test_split_small_problem_whole():
    """A problem at or under the limit comes back as one part."""
    problem = grid_problem(30)
    assert split_problem(problem, max_stops=30) == [problem]


def test_split_parts_cover_stops_and_vehicles():
    """Parts stay under the limit, and stops and vehicles each go to exactly one part."""
    vehicles = [Vehicle(id=f"v{k}", depot=0 if k < 6 else 7, capacity=(30,)) for k in range(10)]
    problem = grid_problem(250, seed=3, vehicles=vehicles)
    parts = split_problem(problem, max_stops=60, seed=0)
    stop_ids = [s.id for part in parts for s in part.stops]
    vehicle_ids = [v.id for part in parts for v in part.vehicles]
    assert sorted(stop_ids) == sorted(s.id for s in problem.stops)
    assert sorted(vehicle_ids) == sorted(v.id for v in vehicles)
    assert all(len(part.stops) <= 60 for part in parts)
    assert all(part.vehicles for part in parts)
