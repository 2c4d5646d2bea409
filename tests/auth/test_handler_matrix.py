"""The authorization matrix of the Reflex event handlers that take an id, called in-process.

`tests/auth/test_matrix.py` checks statically that each handler calls `require(`. This file
runs the handlers that take an id. Each cell signs in one user of tenant 0, or an operations
role that the handler does not allow, and puts the session token in the `distro_session`
cookie var of `AuthState`. It then calls the handler with tenant 1's ids and asserts four
things. The call is denied (PermissionDeniedError or NotFoundError raised, or an error notice
in the state). The state contains none of tenant 1's data. The database is unchanged. A
WARNING "Access denied" naming the caller is logged.

The states are built as Reflex 0.10.1's in-memory state manager builds them
(`reflex/istate/manager/memory.py`): the root `rx.State(_reflex_internal_init=True)` creates
every substate, and the handler's function (`event_handlers[name].fn`) is called on its
substate. That skips Reflex's event processing, so the arguments arrive as Python values
rather than decoded JSON, and `handle_backend_exception` is not called.

A handler is "one that takes an id" when a parameter name ends in `_id`, a parameter is named
in `ID_PARAMETER_NAMES`, or the handler's own name ends in `_id` (a form setter that stores
an id). Each such handler must be in `HANDLER_CASES` or `HARMLESS_ID_HANDLERS`, so a new one
without a case fails `test_every_id_handler_has_a_case`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import reflex as rx
from sqlmodel import Session, SQLModel, select

from distro.backbone import accounts
from distro.backbone.errors import NotFoundError, PermissionDeniedError
from distro.backbone.models import Dealer, Order, Product, Role, User, UserSession
from distro.state.dispatch import board_key
from tests.api.conftest import ApiWorld
from tests.api.conftest import world as world  # the fixture, shared with tests/api
from tests.auth.conftest import place_tenant_orders
from tests.auth.test_matrix import state_classes
from tests.factories import DAY

ID_PARAMETER_NAMES = {"key"}
"""Parameter names that carry an id without saying so, such as a dealer key or "day|depot_id"."""

HARMLESS_ID_HANDLERS = {
    "OrderingState.dismiss_match": (
        "the key names a row of the state's own list of lines to confirm; it reads no database"
    ),
}
"""Handlers that take an id-like argument but read and write no protected data, with the reason."""

TENANT_CALLERS = ("dealer0", "customer0", "rider0")
BOARD_OUTSIDERS = (*TENANT_CALLERS, "manager")
"""Signed-in users whose role may not use the dispatch board (dispatchers and admins may)."""
ADMIN_OUTSIDERS = (*TENANT_CALLERS, "dispatcher", "manager")


@dataclass
class Targets:
    """Ids of one tenant's records, as a browser could send them to a handler."""

    dealer_order_id: int
    customer_order_id: int
    route_id: int
    delivery_id: int
    dealer_id: int
    rider_id: int
    vehicle_id: int
    dealer_user_id: int
    api_token_id: int
    product_id: int
    tier_id: int
    board: str
    markers: tuple[str, ...]
    """Text that only this tenant's records contain: order numbers, codes, names, usernames."""


@dataclass
class HandlerWorld:
    """The app on a test database, signed-in sessions, and the records of tenants 0 and 1."""

    api: ApiWorld
    own: Targets
    foreign: Targets


@dataclass(frozen=True)
class Step:
    """One handler call: "State.handler" and the arguments built from tenant 1's ids."""

    handler: str
    args: Callable[[Targets], tuple[Any, ...]] = lambda t: ()


@dataclass(frozen=True)
class HandlerCell:
    """One denied call: who calls, the arguments, and the calls that follow a form setter.

    For a setter the setter itself succeeds (it only stores what the user typed), and the
    last step of `then`, the handler that acts on the stored id, must be denied.
    """

    caller: str
    args: Callable[[Targets], tuple[Any, ...]]
    then: tuple[Step, ...] = ()


def _cells(
    callers: tuple[str, ...], *args: Callable[[Targets], tuple[Any, ...]]
) -> list[HandlerCell]:
    return [HandlerCell(caller, build) for caller in callers for build in args]


def _dealer_order(t: Targets) -> tuple[int]:
    return (t.dealer_order_id,)


def _customer_order(t: Targets) -> tuple[int]:
    return (t.customer_order_id,)


HANDLER_CASES: dict[str, list[HandlerCell]] = {
    "OrderingState.reorder": _cells(TENANT_CALLERS, _dealer_order, _customer_order),
    "OrderingState.select_order": _cells(TENANT_CALLERS, _dealer_order, _customer_order),
    "OrderingState.approve_hold": _cells(TENANT_CALLERS, _dealer_order),
    "OrderingState.reject_hold": _cells(TENANT_CALLERS, _dealer_order),
    "OrderingState.pick_dealer": _cells(TENANT_CALLERS, lambda t: (str(t.dealer_id),)),
    "ShopState.select_order": _cells(
        (*TENANT_CALLERS, "dispatcher"), _dealer_order, _customer_order
    ),
    "CashState.set_rider_id": [
        HandlerCell(
            caller,
            lambda t: (str(t.rider_id),),
            then=(
                Step("CashState.set_counted_text", lambda t: ("0",)),
                Step("CashState.settle"),
            ),
        )
        for caller in TENANT_CALLERS
    ],
    "DispatchState.open_board": _cells(BOARD_OUTSIDERS, lambda t: (t.board,)),
    "DispatchState.select_route": _cells(BOARD_OUTSIDERS, lambda t: (t.route_id,)),
    "DispatchState.toggle_lock": _cells(BOARD_OUTSIDERS, lambda t: (t.route_id,)),
    "DispatchState.insert_urgent": _cells(BOARD_OUTSIDERS, lambda t: (t.delivery_id,)),
    "DispatchState.pick_stop": [
        HandlerCell(
            caller,
            lambda t: (t.delivery_id,),
            then=(
                Step("DispatchState.set_move_route", lambda t: (str(t.route_id),)),
                Step("DispatchState.move_selected_stop"),
            ),
        )
        for caller in BOARD_OUTSIDERS
    ],
    "AdminState.disable_user": _cells(ADMIN_OUTSIDERS, lambda t: (t.dealer_user_id,)),
    "AdminState.enable_user": _cells(ADMIN_OUTSIDERS, lambda t: (t.dealer_user_id,)),
    "AdminState.revoke_token": _cells(ADMIN_OUTSIDERS, lambda t: (t.api_token_id,)),
    "AdminState.edit_dealer": _cells(ADMIN_OUTSIDERS, lambda t: (t.dealer_id,)),
    "AdminState.set_dealer_active": _cells(ADMIN_OUTSIDERS, lambda t: (t.dealer_id, False)),
    "FleetAdminState.edit_vehicle": _cells(ADMIN_OUTSIDERS, lambda t: (t.vehicle_id,)),
    "FleetAdminState.set_vehicle_active": _cells(ADMIN_OUTSIDERS, lambda t: (t.vehicle_id, False)),
    "FleetAdminState.edit_rider": _cells(ADMIN_OUTSIDERS, lambda t: (t.rider_id,)),
    "FleetAdminState.set_rider_active": _cells(ADMIN_OUTSIDERS, lambda t: (t.rider_id, False)),
    "CatalogAdminState.edit_product": _cells(ADMIN_OUTSIDERS, lambda t: (t.product_id,)),
    "CatalogAdminState.set_product_active": _cells(
        ADMIN_OUTSIDERS, lambda t: (t.product_id, False)
    ),
    "CatalogAdminState.select_price_tier": _cells(ADMIN_OUTSIDERS, lambda t: (str(t.tier_id),)),
}
"""Handlers that take an id, with one denied call per caller and argument set."""


def takes_id(name: str, fn: Callable) -> bool:
    """Return whether the handler's name or a parameter name marks it as receiving an id."""
    if name.endswith("_id"):
        return True
    parameters = list(inspect.signature(fn).parameters)[1:]
    return any(p.endswith("_id") or p in ID_PARAMETER_NAMES for p in parameters)


def id_handlers() -> dict[str, type[rx.State]]:
    """Return "State.handler" -> state class for every Distro handler that takes an id."""
    found = {}
    for cls in state_classes():
        for name, handler in cls.event_handlers.items():
            if name == "setvar" or name not in _defined_handlers(cls):
                continue
            if takes_id(name, handler.fn):
                found[f"{cls.__name__}.{name}"] = cls
    return found


def _defined_handlers(cls: type[rx.State]) -> set[str]:
    # Handlers a class inherits from its parent state are checked on the parent.
    return {name for name in cls.event_handlers if name in cls.__dict__}


def handler_classes() -> dict[str, type[rx.State]]:
    """Return the class name -> state class of every Distro state."""
    return {cls.__name__: cls for cls in state_classes()}


def test_id_handlers_found():
    handlers = id_handlers()
    assert "DispatchState.move_selected_stop" not in handlers
    assert "DispatchState.select_route" in handlers
    assert "OrderingState.reorder" in handlers
    assert "OrderingState.pick_dealer" in handlers
    assert "CashState.set_rider_id" in handlers


def test_every_id_handler_has_a_case():
    """A handler that takes an id and has no case fails here, so new handlers get one."""
    uncovered = set(id_handlers()) - set(HANDLER_CASES) - set(HARMLESS_ID_HANDLERS)
    assert uncovered == set()


def test_cases_name_existing_handlers():
    stale = (set(HANDLER_CASES) | set(HARMLESS_ID_HANDLERS)) - set(id_handlers())
    assert stale == set()


def test_cased_handlers_run_in_the_foreground():
    classes = handler_classes()
    background = [
        name
        for name in HANDLER_CASES
        if classes[name.split(".")[0]].event_handlers[name.split(".")[1]].is_background
    ]
    # NOTE: a background handler needs a running app (`async with self` reaches the state
    # manager), which this in-process runner does not provide.
    assert background == []


# Running handlers


def new_state(cls: type[rx.State], token: str) -> rx.State:
    """Build a fresh state tree, as for a new browser tab, with `token` in the session cookie."""
    root = rx.State(_reflex_internal_init=True)
    state = root.get_substate(cls._get_substate_path())
    state.session_token = token
    return state


async def _run(state: rx.State, name: str, args: tuple[Any, ...]) -> None:
    handler = type(state).event_handlers[name]
    result = handler.fn(state, *args)
    if inspect.isawaitable(result):
        await result
    elif inspect.isasyncgen(result):
        async for _ in result:
            pass
    elif inspect.isgenerator(result):
        for _ in result:
            pass


def call_handler(state: rx.State, name: str, args: tuple[Any, ...] = ()) -> None:
    """Call handler `name` of `state`'s class with `args`, awaiting or draining what it returns."""
    asyncio.run(_run(state, name, args))


def call_denied(state: rx.State, steps: list[tuple[str, tuple[Any, ...]]]) -> Exception | None:
    """Run `steps` on `state` and return the denial raised by the last one, or None.

    The steps before the last are form setters, so an error they raise fails the test.
    """
    for name, args in steps[:-1]:
        call_handler(state, name, args)
    name, args = steps[-1]
    try:
        call_handler(state, name, args)
    except (PermissionDeniedError, NotFoundError) as error:
        return error
    return None


def database_snapshot(session: Session) -> dict[str, list[tuple]]:
    """Return every row of every table, so that any write shows up as a difference.

    `UserSession.last_seen_at` is left out because resolving a session token refreshes it.
    """
    skipped = {(UserSession.__tablename__, "last_seen_at")}
    snapshot = {}
    for table in SQLModel.metadata.sorted_tables:
        columns = [c for c in table.columns if (table.name, c.name) not in skipped]
        keys = list(table.primary_key.columns) or columns
        rows = session.execute(select(*columns).order_by(*keys)).all()
        snapshot[table.name] = [tuple(row) for row in rows]
    return snapshot


def state_text(state: rx.State) -> str:
    """Return the state's vars and its substates' vars as one JSON string."""
    return json.dumps(state.dict(include_computed=False), default=str)


# Fixtures


def _targets(session: Session, api: ApiWorld, tenant: int, orders, token_id: int) -> Targets:
    network = api.people.network
    dealer_order = session.get(Order, orders.dealer_order_ids[tenant])
    customer_order = session.get(Order, orders.customer_order_ids[tenant])
    dealer_user = session.exec(select(User).where(User.username == f"dealer{tenant}")).one()
    product = session.exec(select(Product).where(Product.sku == "SKU-1")).one()
    return Targets(
        dealer_order_id=dealer_order.id,
        customer_order_id=customer_order.id,
        route_id=orders.route_ids[tenant],
        delivery_id=orders.delivery_ids[tenant],
        dealer_id=network.dealer_ids[tenant],
        rider_id=network.rider_ids[tenant],
        vehicle_id=network.vehicle_ids[tenant],
        dealer_user_id=dealer_user.id,
        api_token_id=token_id,
        product_id=product.id,
        tier_id=network.tier_id,
        board=board_key(DAY, network.depot_id),
        markers=(
            dealer_order.number,
            customer_order.number,
            f"D-{tenant + 1:03d}",
            f"Dealer {tenant + 1}",
            f"Customer {tenant}",
            f"dealer{tenant}",
            f"customer{tenant}",
            f"rider{tenant}",
        ),
    )


@pytest.fixture
def handler_world(world: ApiWorld) -> HandlerWorld:
    """Orders, published routes and an API token for both tenants of the API world."""
    orders = place_tenant_orders(world.engine, world.people)
    with Session(world.engine) as session:
        admin = accounts.resolve_token(session, world.tokens["admin"])
        token_ids = []
        for tenant, dealer_id in enumerate(world.people.network.dealer_ids):
            record, _ = accounts.create_api_token(
                session, admin, f"ERP of dealer {tenant}", Role.DEALER, dealer_id=dealer_id
            )
            session.flush()
            token_ids.append(record.id)
        session.commit()
        own = _targets(session, world, 0, orders, token_ids[0])
        foreign = _targets(session, world, 1, orders, token_ids[1])
    return HandlerWorld(world, own, foreign)


# The matrix

MATRIX = [(name, cell) for name, cells in HANDLER_CASES.items() for cell in cells]


def _cell_id(name: str, cell: HandlerCell) -> str:
    return f"{name} as {cell.caller}"


@pytest.mark.parametrize(("name", "cell"), MATRIX, ids=[_cell_id(n, c) for n, c in MATRIX])
def test_id_handler_denies_foreign_tenant(
    handler_world: HandlerWorld, name: str, cell: HandlerCell, caplog
):
    api, foreign = handler_world.api, handler_world.foreign
    class_name, handler_name = name.split(".")
    state = new_state(handler_classes()[class_name], api.tokens[cell.caller])
    steps = [(handler_name, cell.args(foreign))]
    steps += [(step.handler.split(".")[1], step.args(foreign)) for step in cell.then]
    with Session(api.engine) as session:
        before = database_snapshot(session)
    caplog.clear()

    error = call_denied(state, steps)

    with Session(api.engine) as session:
        after = database_snapshot(session)
    notice_kind = getattr(state, "notice_kind", "")
    assert error is not None or notice_kind == "error", "the call was not denied"
    text = state_text(state)
    for marker in foreign.markers:
        assert marker not in text, f"tenant 1's {marker!r} is in the state"
    assert after == before
    denials = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.getMessage().startswith("Access denied")
    ]
    assert any(f"{cell.caller} (" in message for message in denials), denials


# The same handlers succeed where the caller may act, so the denials above are about the
# tenant or the role, and the checks above can see a change.


def test_select_order_shows_own_order(handler_world: HandlerWorld):
    state = new_state(handler_classes()["OrderingState"], handler_world.api.tokens["dealer0"])

    call_handler(state, "select_order", (handler_world.own.dealer_order_id,))

    assert state.selected_number == handler_world.own.markers[0]


def test_shop_select_order_shows_own_order(handler_world: HandlerWorld):
    state = new_state(handler_classes()["ShopState"], handler_world.api.tokens["customer0"])

    call_handler(state, "select_order", (handler_world.own.customer_order_id,))

    assert state.selected_number == handler_world.own.markers[1]
    assert [step.key for step in state.steps][:2] == ["placed", "confirmed"]


def test_reorder_fills_cart_from_own_order(handler_world: HandlerWorld):
    state = new_state(handler_classes()["OrderingState"], handler_world.api.tokens["dealer0"])
    call_handler(state, "load_dealer_page")

    call_handler(state, "reorder", (handler_world.own.dealer_order_id,))

    assert [(item.sku, item.quantity) for item in state.cart_items] == [("SKU-1", 2)]


def test_select_route_shows_any_route_to_dispatcher(handler_world: HandlerWorld):
    foreign = handler_world.foreign
    state = new_state(handler_classes()["DispatchState"], handler_world.api.tokens["dispatcher"])
    call_handler(state, "open_board", (foreign.board,))

    call_handler(state, "select_route", (foreign.route_id,))

    assert state.selected_route_id == foreign.route_id
    assert [stop.delivery_id for stop in state.route_stops] == [foreign.delivery_id]


def test_set_dealer_active_changes_database_for_admin(handler_world: HandlerWorld):
    api = handler_world.api
    state = new_state(handler_classes()["AdminState"], api.tokens["admin"])
    with Session(api.engine) as session:
        before = database_snapshot(session)

    call_handler(state, "set_dealer_active", (handler_world.foreign.dealer_id, False))

    with Session(api.engine) as session:
        after = database_snapshot(session)
    assert after[Dealer.__tablename__] != before[Dealer.__tablename__]
    assert after[Order.__tablename__] == before[Order.__tablename__]
