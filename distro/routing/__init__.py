"""Route planning: pure computation on matrices, with no database or web imports.

Typical use::

    from distro.routing import Problem, Stop, Vehicle, solve

    plan = solve(Problem(stops, vehicles, distance, duration), time_limit=10)
"""

from distro.routing.problem import Plan, Problem, Route, Stop, Unassigned, Vehicle
from distro.routing.solve import ENGINES, solve

__all__ = ["ENGINES", "Plan", "Problem", "Route", "Stop", "Unassigned", "Vehicle", "solve"]
