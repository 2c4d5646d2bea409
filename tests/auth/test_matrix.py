"""The authorization matrix: every route and handler, called by every tenant role on another tenant.

API part: built from `create_api().routes`. Each route must be in `PUBLIC_ROUTES` or in
`ROUTE_CASES`, so a new route without a case fails `test_every_route_has_a_case`. Each case
makes the request of one role (dealer, customer, rider of tenant 0, and operations roles
where the route is role-restricted) aimed at tenant 1's ids, and asserts: denied (403 or
404, or per-event "rejected" for the sync batch), the database unchanged, a WARNING logged.
List routes are checked for leaking tenant 1's records instead.

Reflex part: built from the `rx.State` subclasses in `distro.state`. Calling a handler
in-process needs a running app's state manager, so the matrix checks statically that each
handler calls `require(` before anything else it does (or is in `PUBLIC_HANDLERS`), and
tests the `require` / `redirect_unless` checks themselves in-process against the database.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import logging
import pkgutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import reflex as rx
from fastapi.routing import APIRoute
from sqlalchemy import func
from sqlmodel import Session, select

import distro.state
from distro.api.app import create_api
from distro.backbone.errors import AuthenticationError, PermissionDeniedError
from distro.backbone.models import ClientEvent, Delivery, Event, Order, Role
from distro.state.auth import _SessionAccess
from tests.api.conftest import ApiWorld
from tests.api.conftest import world as world  # the fixture, shared with tests/api
from tests.auth.conftest import Tenancy, place_tenant_orders
from tests.factories import DAY

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

PUBLIC_ROUTES = {("GET", "/api/v1/health")}
"""Routes that anyone may call: they return no tenant data."""


@dataclass(frozen=True)
class Cell:
    """One denied call: who calls, and how the request aims at tenant 1."""

    caller: str
    build: Callable[[ApiWorld, Tenancy], dict[str, Any]]


def _get(path: Callable[[ApiWorld, Tenancy], str]) -> Callable[[ApiWorld, Tenancy], dict[str, Any]]:
    return lambda w, t: {"method": "GET", "url": path(w, t)}


TENANT_CALLERS = ("dealer0", "customer0", "rider0")

ROUTE_CASES: dict[tuple[str, str], list[Cell]] = {
    ("GET", "/api/v1/dealers/{dealer_id}/catalog"): [
        Cell(c, _get(lambda w, t: f"/api/v1/dealers/{w.people.network.dealer_ids[1]}/catalog"))
        for c in TENANT_CALLERS
    ],
    ("GET", "/api/v1/orders/{order_id}"): [
        Cell(c, _get(lambda w, t, k=k: f"/api/v1/orders/{getattr(t, k)[1]}"))
        for c in TENANT_CALLERS
        for k in ("dealer_order_ids", "customer_order_ids")
    ],
    ("GET", "/api/v1/orders/{order_id}/timeline"): [
        Cell(c, _get(lambda w, t, k=k: f"/api/v1/orders/{getattr(t, k)[1]}/timeline"))
        for c in TENANT_CALLERS
        for k in ("dealer_order_ids", "customer_order_ids")
    ],
    ("GET", "/api/v1/routes/{route_id}"): [
        Cell(c, _get(lambda w, t: f"/api/v1/routes/{t.route_ids[1]}")) for c in TENANT_CALLERS
    ],
    ("PUT", "/api/v1/deliveries/{delivery_id}/proof"): [
        Cell(
            c,
            lambda w, t: {
                "method": "PUT",
                "url": f"/api/v1/deliveries/{t.delivery_ids[1]}/proof",
                "content": PNG,
                "headers": {"Content-Type": "image/png"},
            },
        )
        for c in (*TENANT_CALLERS, "manager")
    ],
    ("POST", "/api/v1/rider/sync"): [
        Cell(
            c,
            lambda w, t: {
                "method": "POST",
                "url": "/api/v1/rider/sync",
                "json": {
                    "events": [
                        {
                            "client_event_id": "e1",
                            "delivery_id": t.delivery_ids[1],
                            "status": "out_for_delivery",
                        }
                    ]
                },
            },
        )
        for c in (*TENANT_CALLERS, "dispatcher", "manager")
    ],
    ("POST", "/api/v1/orders"): [
        Cell(
            "dealer0",
            lambda w, t: {
                "method": "POST",
                "url": "/api/v1/orders",
                "json": {
                    "lines": [{"sku": "SKU-1", "quantity": 1}],
                    "delivery_day": DAY.isoformat(),
                    "dealer_id": w.people.network.dealer_ids[1],
                },
            },
        ),
        Cell(
            "customer0",
            lambda w, t: {
                "method": "POST",
                "url": "/api/v1/orders",
                "json": {
                    "lines": [{"sku": "SKU-1", "quantity": 1}],
                    "delivery_day": DAY.isoformat(),
                    "customer_id": w.people.customer_ids[1],
                },
            },
        ),
        Cell(
            "rider0",
            lambda w, t: {
                "method": "POST",
                "url": "/api/v1/orders",
                "json": {
                    "lines": [{"sku": "SKU-1", "quantity": 1}],
                    "delivery_day": DAY.isoformat(),
                    "dealer_id": w.people.network.dealer_ids[1],
                },
            },
        ),
    ],
    ("GET", "/api/v1/dispatch/board"): [
        Cell(
            c,
            _get(
                lambda w, t: (
                    f"/api/v1/dispatch/board?day={DAY}&depot_id={w.people.network.depot_id}"
                )
            ),
        )
        for c in TENANT_CALLERS
    ],
    ("GET", "/api/v1/maps/dispatch"): [
        Cell(
            c,
            _get(
                lambda w, t: f"/api/v1/maps/dispatch?day={DAY}&depot_id={w.people.network.depot_id}"
            ),
        )
        for c in TENANT_CALLERS
    ],
    ("GET", "/api/v1/catalog"): [
        Cell(c, _get(lambda w, t: "/api/v1/catalog")) for c in ("rider0",)
    ],
    ("GET", "/api/v1/maps/kpis"): [
        Cell(c, _get(lambda w, t: f"/api/v1/maps/kpis?start={DAY}&end={DAY}"))
        for c in (*TENANT_CALLERS, "dispatcher")
    ],
}
"""Routes with a denial per caller. Routes listed in `SCOPED_LIST_ROUTES` are checked for leaks."""

OPERATIONS_ONLY_ROUTES = [
    ("GET", "/api/v1/dispatch/exceptions", lambda w, t: "/api/v1/dispatch/exceptions"),
    ("GET", "/api/v1/dispatch/positions", lambda w, t: "/api/v1/dispatch/positions"),
    ("GET", "/api/v1/cash/on-hand", lambda w, t: "/api/v1/cash/on-hand"),
    ("GET", "/api/v1/failure-reasons", lambda w, t: "/api/v1/failure-reasons"),
    ("PUT", "/api/v1/failure-reasons/{code}", lambda w, t: "/api/v1/failure-reasons/not_home"),
    (
        "POST",
        "/api/v1/deliveries/{delivery_id}/code/override",
        lambda w, t: f"/api/v1/deliveries/{t.delivery_ids[1]}/code/override",
    ),
    (
        "PUT",
        "/api/v1/deliveries/{delivery_id}/proof-policy",
        lambda w, t: f"/api/v1/deliveries/{t.delivery_ids[1]}/proof-policy",
    ),
    (
        "PUT",
        "/api/v1/deliveries/{delivery_id}/cash-due",
        lambda w, t: f"/api/v1/deliveries/{t.delivery_ids[1]}/cash-due",
    ),
    (
        "POST",
        "/api/v1/riders/{rider_id}/cash/settle",
        lambda w, t: f"/api/v1/riders/{w.people.network.rider_ids[1]}/cash/settle",
    ),
]
"""Routes for dispatch, managers and admins only; tenant roles must get 403 whatever the body."""

for _method, _path, _url in OPERATIONS_ONLY_ROUTES:
    ROUTE_CASES[(_method, _path)] = [
        Cell(c, lambda w, t, m=_method, u=_url: {"method": m, "url": u(w, t), "json": {}})
        for c in TENANT_CALLERS
    ]

for _path in ("/api/v1/rider/shift", "/api/v1/rider/positions"):
    _method = "GET" if _path.endswith("shift") else "POST"
    ROUTE_CASES[(_method, _path)] = [
        Cell(c, lambda w, t, m=_method, p=_path: {"method": m, "url": p, "json": {}})
        for c in ("dealer0", "customer0")
    ]

for _kind in ("photo", "signature"):
    ROUTE_CASES[("PUT", f"/api/v1/deliveries/{{delivery_id}}/{_kind}")] = [
        Cell(
            c,
            lambda w, t, k=_kind: {
                "method": "PUT",
                "url": f"/api/v1/deliveries/{t.delivery_ids[1]}/{k}",
                "content": PNG,
                "headers": {"Content-Type": "image/png"},
            },
        )
        for c in (*TENANT_CALLERS, "manager")
    ]

for _suffix in ("tracking", "dispute.html"):
    ROUTE_CASES[("GET", f"/api/v1/orders/{{order_id}}/{_suffix}")] = [
        Cell(c, _get(lambda w, t, k=k, x=_suffix: f"/api/v1/orders/{getattr(t, k)[1]}/{x}"))
        for c in TENANT_CALLERS
        for k in ("dealer_order_ids", "customer_order_ids")
    ]


def _foreign_proof(w: ApiWorld, t: Tenancy) -> dict[str, Any]:
    """Upload a photo as tenant 1's rider, then aim a GET at it."""
    from tests.api.test_rider_api import JPEG

    response = w.client.put(
        f"/api/v1/deliveries/{t.delivery_ids[1]}/photo",
        content=JPEG,
        headers={**w.headers("rider1"), "Content-Type": "image/jpeg"},
    )
    assert response.status_code == 200, response.text
    return {"method": "GET", "url": f"/api/v1/proofs/{response.json()['proof_id']}"}


ROUTE_CASES[("GET", "/api/v1/proofs/{proof_id}")] = [Cell(c, _foreign_proof) for c in TENANT_CALLERS]

SCOPED_LIST_ROUTES = {
    ("GET", "/api/v1/orders"),
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/map/live.geojson"),
    ("GET", "/api/v1/catalog"),
}
"""Routes that take no foreign id but list records; `test_list_routes_show_no_foreign_records`."""


def _walk(routes, prefix: str = ""):  # noqa: ANN001, ANN202
    # FastAPI 0.165 keeps included routers nested instead of copying their routes up.
    for route in routes:
        if isinstance(route, APIRoute):
            for method in route.methods:
                yield method, prefix + route.path
        elif hasattr(route, "original_router"):
            yield from _walk(route.original_router.routes, prefix + route.include_context.prefix)


def api_routes() -> set[tuple[str, str]]:
    """Return (method, path) of every route the API serves, from the app and its OpenAPI document."""
    api = create_api()
    found = set(_walk(api.routes))
    for path, operations in api.openapi()["paths"].items():
        found.update((method.upper(), path) for method in operations)
    return found


def test_api_routes_found():
    assert ("POST", "/api/v1/orders") in api_routes()
    assert ("GET", "/api/v1/maps/dispatch") in api_routes()


def test_every_route_has_a_case():
    """A route that is neither public nor in the matrix fails here, so nobody forgets one."""
    uncovered = api_routes() - PUBLIC_ROUTES - set(ROUTE_CASES) - SCOPED_LIST_ROUTES
    assert uncovered == set()


def database_fingerprint(session: Session) -> tuple:
    """Return counts and statuses that any write would change."""
    return (
        session.exec(select(func.count()).select_from(Order)).one(),
        session.exec(select(func.count()).select_from(Event)).one(),
        session.exec(select(func.count()).select_from(ClientEvent)).one(),
        tuple(session.exec(select(Delivery.id, Delivery.status).order_by(Delivery.id)).all()),
        tuple(session.exec(select(Order.id, Order.status).order_by(Order.id)).all()),
    )


MATRIX = [(route, cell) for route, cells in ROUTE_CASES.items() for cell in cells]


@pytest.fixture
def tenancy(world: ApiWorld) -> Tenancy:
    """Orders and published routes for both tenants of the API world."""
    return place_tenant_orders(world.engine, world.people)


@pytest.mark.parametrize(
    ("route", "cell"), MATRIX, ids=[f"{r[0]} {r[1]} as {c.caller}" for r, c in MATRIX]
)
def test_route_denies_foreign_tenant(world: ApiWorld, tenancy: Tenancy, route, cell: Cell, caplog):
    request = cell.build(world, tenancy)
    headers = {**request.pop("headers", {}), **world.headers(cell.caller)}
    with Session(world.engine) as session:
        before = database_fingerprint(session)
    caplog.clear()

    response = world.client.request(headers=headers, **request)

    with Session(world.engine) as session:
        after = database_fingerprint(session)
    if route == ("POST", "/api/v1/rider/sync") and response.status_code == 200:
        # A rider's batch is accepted as a whole; each foreign stop is rejected on its own.
        assert response.json()["results"][0]["outcome"] == "rejected"
        assert response.json()["results"][0]["code"] == "PERMISSION_DENIED"
        assert after[:2] == before[:2]
        assert after[3:] == before[3:]
    else:
        assert response.status_code in (403, 404), response.text
        assert response.json()["code"] in ("PERMISSION_DENIED", "NOT_FOUND")
        assert after == before
    assert any(
        r.levelno == logging.WARNING and "Access denied" in r.getMessage() for r in caplog.records
    )


def test_list_routes_show_no_foreign_records(world: ApiWorld, tenancy: Tenancy):
    foreign_orders = {tenancy.dealer_order_ids[1], tenancy.customer_order_ids[1]}
    foreign_deliveries = {tenancy.delivery_ids[1]}
    for caller in TENANT_CALLERS:
        headers = world.headers(caller)
        orders = world.client.get("/api/v1/orders", headers=headers).json()["orders"]
        events = world.client.get("/api/v1/events?limit=500", headers=headers).json()["events"]
        features = world.client.get(f"/api/v1/map/live.geojson?day={DAY}", headers=headers).json()[
            "features"
        ]
        assert {o["order_id"] for o in orders} & foreign_orders == set(), caller
        assert {e["order_id"] for e in events} & foreign_orders == set(), caller
        assert {
            f["properties"].get("delivery_id") for f in features
        } & foreign_deliveries == set(), caller


def test_list_routes_show_own_records(world: ApiWorld, tenancy: Tenancy):
    orders = world.client.get("/api/v1/orders", headers=world.headers("dealer0")).json()["orders"]
    rider_map = world.client.get(
        f"/api/v1/map/live.geojson?day={DAY}", headers=world.headers("rider0")
    ).json()
    assert tenancy.dealer_order_ids[0] in {o["order_id"] for o in orders}
    assert [f["properties"]["delivery_id"] for f in rider_map["features"]] == [
        tenancy.delivery_ids[0]
    ]


def test_own_tenant_allowed(world: ApiWorld, tenancy: Tenancy):
    """The same routes succeed for the owner, so the denials above are about the tenant."""
    assert (
        world.client.get(
            f"/api/v1/orders/{tenancy.dealer_order_ids[0]}", headers=world.headers("dealer0")
        ).status_code
        == 200
    )
    assert (
        world.client.get(
            f"/api/v1/orders/{tenancy.customer_order_ids[0]}", headers=world.headers("customer0")
        ).status_code
        == 200
    )
    assert (
        world.client.get(
            f"/api/v1/routes/{tenancy.route_ids[0]}", headers=world.headers("rider0")
        ).status_code
        == 200
    )
    assert (
        world.client.get(
            f"/api/v1/orders/{tenancy.dealer_order_ids[0]}", headers=world.headers("rider0")
        ).status_code
        == 200
    )


def state_classes() -> list[type[rx.State]]:
    """Import every module of `distro.state` and return the state classes they define."""
    for info in pkgutil.iter_modules(distro.state.__path__):
        importlib.import_module(f"distro.state.{info.name}")
    found = []
    stack = [rx.State]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("distro."):
            found.append(cls)
    return found


PUBLIC_HANDLERS = {
    "AuthState.load_login",
    "AuthState.sign_in",
    "AuthState.sign_out",
    # Form field setters of the dispatch board: they store what the user typed, and the
    # handler that acts on it calls `require` first.
    "DispatchState.pick_stop",
    "DispatchState.set_move_stop_text",
    "DispatchState.set_move_route",
    "DispatchState.set_move_position_text",
    # Form field setters of the cash page; `CashState.settle` calls `require` first.
    "CashState.set_rider_id",
    "CashState.set_counted_text",
    "CashState.set_note",
}
"""Handlers that read and write no protected data, so they need no session check."""


def handler_checks_first(fn: Callable) -> bool:
    """Whether the handler's first statements (after the docstring) include a `require(` call."""
    source = textwrap.dedent(inspect.getsource(fn))
    body = ast.parse(source).body[0].body
    statements = [
        s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
    ]
    # A guard may sit inside `async with self:` (background handlers) or after a redirect check.
    head = statements[:3]
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "require"
        for statement in head
        for node in ast.walk(statement)
    )


def reflex_handlers() -> list[tuple[str, Callable]]:
    """Return ("State.handler", function) of every handler defined by a Distro state."""
    handlers = []
    for cls in state_classes():
        for name, handler in cls.event_handlers.items():
            if name == "setvar" or (name.startswith("set_") and name not in cls.__dict__):
                continue
            handlers.append((f"{cls.__name__}.{name}", handler.fn))
    return handlers


def test_reflex_handlers_found():
    names = {name for name, _ in reflex_handlers()}
    assert "AuthState.sign_in" in names
    assert "DispatchState.publish" in names


@pytest.mark.parametrize(("name", "fn"), reflex_handlers(), ids=[n for n, _ in reflex_handlers()])
def test_reflex_handler_requires_session(name, fn):
    if name in PUBLIC_HANDLERS:
        pytest.skip("public handler")
    assert handler_checks_first(fn), (
        f"{name} must call self.require(...) first or be listed in PUBLIC_HANDLERS"
    )


class FakeRouterUrl:
    path = "/dealer"


class FakeRouter:
    url = FakeRouterUrl()


class FakeState(_SessionAccess):
    """The session checks of AuthState on a plain object, with the token a browser would send."""

    router = FakeRouter()

    def __init__(self, token: str) -> None:
        self.session_token = token


def test_require_resolves_role_from_database(world: ApiWorld, caplog):
    state = FakeState(world.tokens["dealer0"])
    actor = state.require(Role.DEALER)
    assert actor.dealer_id == world.people.network.dealer_ids[0]
    with pytest.raises(PermissionDeniedError):
        state.require(Role.DISPATCHER)
    assert any(
        "Access denied" in r.getMessage() and "dealer0" in r.getMessage() for r in caplog.records
    )


def test_require_rejects_forged_token(world: ApiWorld, caplog):
    with pytest.raises(AuthenticationError):
        FakeState("forged-token").require(Role.DEALER)
    with pytest.raises(AuthenticationError):
        FakeState("").require(Role.DEALER)
    assert any(r.levelno == logging.WARNING for r in caplog.records)


def test_redirect_unless_sends_to_login_or_home(world: ApiWorld):
    anonymous = FakeState("").redirect_unless(Role.DEALER)
    wrong_role = FakeState(world.tokens["rider0"]).redirect_unless(Role.DEALER)
    allowed = FakeState(world.tokens["dealer0"]).redirect_unless(Role.DEALER)
    assert "/login?next=/dealer" in str(anonymous)
    assert "/rider" in str(wrong_role)
    assert allowed is None
