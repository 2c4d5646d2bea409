"""Problem validation: bad input raises ValueError naming the value."""

from __future__ import annotations

import numpy as np
import pytest

from distro.routing.problem import Problem, Stop, Vehicle

MATRIX = np.array([[0, 5, 7], [5, 0, 3], [7, 3, 0]])
VEHICLE = Vehicle(id="v1", depot=0, capacity=(10, 5))
STOP = Stop(id="a", location=1, demand=(2, 1))


def make(stops=(STOP,), vehicles=(VEHICLE,), distance=MATRIX, duration=MATRIX, **extra):
    return Problem(stops=stops, vehicles=vehicles, distance=distance, duration=duration, **extra)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"distance": np.zeros((2, 3))}, "shape (2, 3)"),
        ({"duration": np.zeros((2, 2))}, "duration matrix has shape (2, 2)"),
        ({"distance": MATRIX * -1}, "must be non-negative"),
        ({"distance": np.full((3, 3), np.nan)}, "NaN"),
        ({"stops": (Stop(id="a", location=3, demand=(1, 1)),)}, "location 3"),
        ({"stops": (Stop(id="a", location=1, demand=(1,)),)}, "demand (1,)"),
        ({"stops": (Stop(id="a", location=1, demand=(-1, 0)),)}, "demand (-1, 0)"),
        ({"stops": (STOP, STOP)}, "stop id 'a' is used twice"),
        ({"stops": (Stop(id="a", location=1, demand=(1, 1), time_window=(9, 3)),)}, "(9, 3)"),
        ({"stops": (Stop(id="a", location=1, demand=(1, 1), service_time=-5),)}, "service_time -5"),
        ({"vehicles": ()}, "no vehicles"),
        ({"vehicles": (Vehicle(id="v", depot=7, capacity=(1, 1)),)}, "depot 7"),
        (
            {"vehicles": (VEHICLE, Vehicle(id="w", depot=0, capacity=(1,)))},
            "capacity dimensions (1,)",
        ),
        ({"vehicles": (VEHICLE, VEHICLE)}, "vehicle id 'v1' is used twice"),
        (
            {"vehicles": (Vehicle("v", 0, (1, 1), shift_start=50, shift_end=10),)},
            "shift_end 10",
        ),
        ({"coordinates": np.zeros((2, 2))}, "coordinates have shape (2, 2)"),
    ],
)
def test_problem_rejects_bad_value(kwargs, expected):
    """Each invalid field raises ValueError whose message names the bad value."""
    with pytest.raises(ValueError) as error:
        make(**kwargs)
    assert expected in str(error.value)


def test_problem_matrices_read_only():
    """Matrices are copied to read-only int64 arrays, so callers cannot change a problem."""
    source = MATRIX.copy()
    problem = make(distance=source)
    source[0, 1] = 99
    assert problem.distance[0, 1] == 5
    assert problem.distance.dtype == np.int64
    with pytest.raises(ValueError, match="read-only"):
        problem.distance[0, 1] = 1


def test_problem_float_matrix_rounded():
    """Float matrices are rounded to the nearest integer."""
    problem = make(distance=np.array([[0, 1.6, 2.2], [1.6, 0, 0.4], [2.2, 0.4, 0]]))
    assert problem.distance.tolist() == [[0, 2, 2], [2, 0, 0], [2, 0, 0]]


def test_problem_unit_names_dimension():
    """Dimension units come from dimension_units, with a fallback naming the index."""
    problem = make(dimension_units=("kg",))
    assert problem.unit(0) == "kg"
    assert problem.unit(1) == "(dimension 1)"
