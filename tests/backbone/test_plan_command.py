"""`distro plan` on a real SQLite database: the board's planning from the command line."""

from __future__ import annotations

from click.testing import CliRunner
from sqlmodel import Session, select

from distro.backbone.actors import Actor
from distro.backbone.models import Plan, PlanStatus, Role
from distro.backbone.orders import LineRequest, submit_order
from distro.commands.plan import plan
from distro.db import reset_engine
from distro.settings import reset_settings
from tests.factories import DAY, build_network


def test_plan_command_routes_every_stop(sqlite_engine, monkeypatch):
    """The command plans the day's stops into a draft and prints routed stops and distance."""
    network = build_network(sqlite_engine, dealers=3)
    for dealer_id in network.dealer_ids:
        submit_order(sqlite_engine, Actor("desk", Role.DEALER), dealer_id=dealer_id,
                     delivery_day=DAY, lines=[LineRequest("SKU-1", 4)])
    monkeypatch.setenv("DISTRO_DATABASE_URL", sqlite_engine.url.render_as_string())
    reset_settings()
    reset_engine()
    try:
        result = CliRunner().invoke(
            plan, ["--depot", "WH-1", "--day", DAY.isoformat(), "--time-limit", "1"]
        )
    finally:
        reset_engine()
        monkeypatch.delenv("DISTRO_DATABASE_URL")
        reset_settings()

    with Session(sqlite_engine) as session:
        plans = session.exec(select(Plan)).all()
    assert result.exit_code == 0, result.output
    assert "3 of 3 stops" in result.output
    assert "routes over capacity: 0" in result.output
    assert [p.status for p in plans] == [PlanStatus.DRAFT]


def test_plan_command_unknown_depot(sqlite_engine, monkeypatch):
    """An unknown depot code is named in the error, with what to pass instead."""
    monkeypatch.setenv("DISTRO_DATABASE_URL", sqlite_engine.url.render_as_string())
    reset_settings()
    reset_engine()
    try:
        result = CliRunner().invoke(plan, ["--depot", "NOPE", "--day", DAY.isoformat()])
    finally:
        reset_engine()
        monkeypatch.delenv("DISTRO_DATABASE_URL")
        reset_settings()

    assert result.exit_code == 1
    assert "No depot with code 'NOPE'" in result.output


def test_plan_command_all_depots_plans_each_depot(sqlite_engine, monkeypatch):
    """`--depot all` plans every depot of the day in one run and prints a line per depot."""
    from tests.backbone.test_day_board import add_second_depot

    network = build_network(sqlite_engine, dealers=2)
    _, second_dealers = add_second_depot(sqlite_engine, network, dealers=2, shifts=1)
    for dealer_id in [*network.dealer_ids, *second_dealers]:
        submit_order(sqlite_engine, Actor("desk", Role.DEALER), dealer_id=dealer_id,
                     delivery_day=DAY, lines=[LineRequest("SKU-1", 3)])
    monkeypatch.setenv("DISTRO_DATABASE_URL", sqlite_engine.url.render_as_string())
    reset_settings()
    reset_engine()
    try:
        result = CliRunner().invoke(
            plan, ["--depot", "all", "--day", DAY.isoformat(), "--time-limit", "1"]
        )
    finally:
        reset_engine()
        monkeypatch.delenv("DISTRO_DATABASE_URL")
        reset_settings()

    assert result.exit_code == 0, result.output
    assert "WH-1: plan" in result.output
    assert "2 of 2 stops" in result.output
    assert "WH-2: plan" in result.output
    assert "2 plan(s)" in result.output
    with Session(sqlite_engine) as session:
        plans = session.exec(select(Plan)).all()
    assert sorted(p.status for p in plans) == [PlanStatus.DRAFT, PlanStatus.DRAFT]
    assert len({p.depot_id for p in plans}) == 2
