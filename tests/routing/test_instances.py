"""Instance parsers: the three file formats, their cost conventions and bad files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from distro.routing.instances import check_routes, evaluate, load_instance, load_solution


def bks_rows(root: Path) -> dict[str, float]:
    with (root / "bks.csv").open(newline="") as handle:
        return {row["instance"]: float(row["bks_cost"]) for row in csv.DictReader(handle)}


def solution_files(root: Path) -> list[Path]:
    return sorted([*root.glob("cvrp/*.sol"), *root.glob("vrptw/*.sol")])


def test_bks_solutions_reproduce(instances_dir):
    """Every .sol file scores its bks.csv cost and breaks no rule of its instance."""
    bks = bks_rows(instances_dir)
    files = solution_files(instances_dir)
    assert len(files) >= 19
    for sol in files:
        source = sol.with_suffix(".vrp") if sol.parent.name == "cvrp" else sol.with_suffix(".txt")
        instance = load_instance(source)
        solution = load_solution(sol, instance)
        cost = evaluate(instance, solution.routes)
        assert cost == pytest.approx(bks[instance.name], abs=1e-6), sol
        assert check_routes(instance, solution.routes) == [], sol


def test_cvrplib_uses_tsplib_nint(instances_dir):
    """.vrp distances are Euclidean rounded half up, and location 0 is the depot."""
    instance = load_instance(instances_dir / "cvrp" / "X-n101-k25.vrp")
    xy = instance.coordinates
    exact = ((xy[0] - xy[1]) ** 2).sum() ** 0.5
    assert instance.problem.distance[0, 1] == int(exact + 0.5)
    assert instance.format == "cvrplib"
    assert instance.scale == 1
    assert instance.stop_ids[0] == "2"
    assert instance.vehicle_capacity == 206


def test_solomon_scaled_by_ten(instances_dir):
    """Solomon distances are truncated to one decimal and stored times 10."""
    instance = load_instance(instances_dir / "vrptw" / "R101.txt")
    xy = instance.coordinates
    exact = ((xy[0] - xy[1]) ** 2).sum() ** 0.5
    assert instance.scale == 10
    assert instance.problem.distance[0, 1] == int(exact * 10)
    assert instance.problem.stops[0].time_window == (1610, 1710)
    assert instance.problem.stops[0].service_time == 100
    assert instance.vehicle_count == 25
    assert instance.problem.vehicles[0].shift_end == 2300


def test_loggibud_repeated_ids_made_unique(instances_dir):
    """loggibud files repeat some delivery ids; stop ids get a #2 suffix, file ids stay."""
    instance = load_instance(instances_dir / "lastmile" / "loggibud-cvrp-0-rj-0.json")
    ids = [stop.id for stop in instance.problem.stops]
    assert len(ids) == 221
    assert len(set(ids)) == 221
    assert any(stop_id.endswith("#2") for stop_id in ids)
    assert sum(stop.demand for stop in instance.stops) == 1179
    assert instance.coordinate_kind == "latlon"
    assert instance.vehicle_capacity == 180


def test_load_instance_missing_file_named(tmp_path):
    """A missing file raises ValueError naming the path."""
    missing = tmp_path / "none.vrp"
    with pytest.raises(ValueError, match=r"none\.vrp: file not found"):
        load_instance(missing)


def test_load_instance_bad_line_named(tmp_path):
    """A malformed coordinate line raises ValueError naming the file and the line."""
    path = tmp_path / "bad.vrp"
    path.write_text(
        "NAME : bad\nTYPE : CVRP\nDIMENSION : 2\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 10\n"
        "NODE_COORD_SECTION\n1 0 0\n2 x 4\nDEMAND_SECTION\n1 0\n2 3\nDEPOT_SECTION\n1\n-1\nEOF\n"
    )
    with pytest.raises(ValueError, match=r"bad\.vrp:8: invalid line"):
        load_instance(path)


def test_load_instance_unknown_format(tmp_path):
    """A file of no known format raises ValueError listing the accepted formats."""
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    with pytest.raises(ValueError, match="unknown instance format"):
        load_instance(path)


def test_load_instance_bad_json_line(tmp_path):
    """Broken JSON raises ValueError with the line number."""
    path = tmp_path / "broken.json"
    path.write_text('{"name": "x",\n "origin": }\n')
    with pytest.raises(ValueError, match=r"broken\.json:2: invalid JSON"):
        load_instance(path)


def test_check_routes_reports_violations(instances_dir):
    """check_routes lists a missing stop, an overloaded route and a late arrival."""
    instance = load_instance(instances_dir / "vrptw" / "R101.txt")
    ids = list(instance.stop_ids)
    violations = check_routes(instance, [ids[1:]])
    assert any("stop 1 visited 0 times" in v for v in violations)
    assert any("exceeds capacity" in v for v in violations)
    assert any("after its window closes" in v for v in violations)
