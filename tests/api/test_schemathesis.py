"""Property-based tests of the served OpenAPI document with Schemathesis, in-process (no network).

Generated requests, valid and invalid, go through FastAPI's ASGI app on a SQLite database
with two tenants. Checks: no 5xx, every status code and content type is documented, and
every response body matches its documented schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from distro.api.app import API_PREFIX, create_api
from distro.backbone import accounts
from distro.db import make_engine, reset_engine, upgrade_database
from tests.api.conftest import point_app_at
from tests.auth.conftest import PASSWORD, build_people, place_tenant_orders

EXAMPLES_PER_OPERATION = 30
"""Hypothesis examples per operation and caller; about 12 operations, so some 700 cases in all."""

CASES_RUN: list[str] = []


@pytest.fixture(scope="module")
def api_setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A migrated SQLite database with two tenants, and a bearer token per caller."""
    folder = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{folder / 'distro.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("DISTRO_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("DISTRO_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("DISTRO_ARGON2_PARALLELISM", "1")
    point_app_at(engine, monkeypatch, Path(folder) / "private")
    people = build_people(engine)
    place_tenant_orders(engine, people)
    tokens = {}
    with Session(engine) as session:
        for name in ("dealer0", "dispatcher", "rider0"):
            tokens[name] = accounts.sign_in(session, name, PASSWORD, "127.0.0.1")[1]
    yield tokens
    print(f"\nSchemathesis cases run: {len(CASES_RUN)}")
    monkeypatch.undo()
    reset_engine()
    engine.dispose()


def api_operations():
    """Return every operation of the served OpenAPI document."""
    schema = schemathesis.openapi.from_asgi(f"{API_PREFIX}/openapi.json", create_api())
    return [result.ok() for result in schema.get_all_operations()]


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

HYPOTHESIS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


# NOTE: Schemathesis's own pytest integration (`schema.parametrize`, `from_fixture`) fails
# under pytest 9 here ("'Function' object has no attribute '_nodeid'"), so each operation's
# Hypothesis strategy is driven directly.
@pytest.mark.slow
@pytest.mark.parametrize("caller", ["dealer0", "dispatcher", "rider0"])
def test_api_conforms_to_openapi(caller, api_setup):
    token = api_setup[caller]
    for operation in api_operations():

        @HYPOTHESIS
        @given(case=operation.as_strategy())
        def check(case) -> None:
            CASES_RUN.append(f"{case.method} {case.path}")
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        check()
