"""Shared fixtures: real SQLite and PostgreSQL databases, and an error-log guard."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from distro.db import make_engine, upgrade_database

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql+psycopg://root@127.0.0.1:5432/postgres"


def vrp_instances_dir() -> Path:
    """Return the folder of VRP benchmark instances (DISTRO_VRP_INSTANCES or ../shared)."""
    configured = os.environ.get("DISTRO_VRP_INSTANCES")
    if configured:
        return Path(configured)
    return REPO_ROOT.parent / "shared" / "vrp-instances"


@pytest.fixture(scope="session")
def instances_dir() -> Path:
    """The VRP instance folder; skips the test when it is not on this machine."""
    folder = vrp_instances_dir()
    if not folder.is_dir():
        pytest.skip(f"VRP benchmark instances not found at {folder}; set DISTRO_VRP_INSTANCES")
    return folder


def postgres_admin_url() -> str:
    """Return the URL of a PostgreSQL database where test databases may be created."""
    return os.environ.get("DISTRO_TEST_POSTGRES_URL", DEFAULT_PG_URL)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """Check that PostgreSQL answers; skip (or fail in CI) when it does not."""
    url = postgres_admin_url()
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as error:
        message = f"PostgreSQL not reachable at {url}: {error}. Set DISTRO_TEST_POSTGRES_URL."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


def create_postgres_database(admin_url: str) -> str:
    """Create an empty database with a unique name and return its URL."""
    name = f"distro_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(admin_url: str, url: str) -> None:
    """Drop a database made by `create_postgres_database`, ending its connections first."""
    name = make_url(url).database
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database in a temporary folder."""
    url = f"sqlite:///{tmp_path / 'distro.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine(postgres_server: str) -> Iterator[Engine]:
    """A migrated PostgreSQL database of its own, dropped after the test."""
    url = create_postgres_database(postgres_server)
    try:
        upgrade_database(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()
    finally:
        drop_postgres_database(postgres_server, url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    """A migrated database on each backend in turn: SQLite, then PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture(autouse=True)
def fail_on_logged_error(
    caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> Iterator[None]:
    """Fail a test that logged an ERROR it did not declare with `@pytest.mark.allow_error_log`."""
    caplog.set_level(logging.WARNING)
    yield
    if request.node.get_closest_marker("allow_error_log"):
        return
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    if errors:
        pytest.fail("unexpected ERROR log: " + "; ".join(r.getMessage() for r in errors))


CHROMIUM_PATH = Path("/usr/bin/chromium")


def pytest_report_header(config: pytest.Config) -> str:
    """Say at the start whether the browser tests can run."""
    if CHROMIUM_PATH.exists():
        return f"browser tests: Chromium at {CHROMIUM_PATH}"
    return f"browser tests: SKIPPED, no Chromium at {CHROMIUM_PATH} (apt-get install chromium)"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Repeat at the end, plainly, that browser tests were skipped when Chromium is missing."""
    if not CHROMIUM_PATH.exists():
        terminalreporter.write_line(
            f"Browser tests were SKIPPED: no Chromium at {CHROMIUM_PATH}; "
            "install it with `apt-get install chromium`."
        )
