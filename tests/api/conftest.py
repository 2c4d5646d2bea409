"""Fixtures for API tests: the FastAPI app in-process on a test database, and signed-in callers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from distro.api.app import create_api
from distro.backbone import accounts
from distro.db import reset_engine
from distro.settings import reset_settings
from tests.auth.conftest import PASSWORD, People, build_people
from tests.auth.conftest import fast_hashing as fast_hashing  # autouse here too


@dataclass
class ApiWorld:
    """A client for the API, the people in the network, and a bearer header per username."""

    client: TestClient
    engine: Engine
    people: People
    tokens: dict[str, str]

    def headers(self, username: str) -> dict[str, str]:
        """Return the Authorization header of `username`'s session."""
        return {"Authorization": f"Bearer {self.tokens[username]}"}


def point_app_at(engine: Engine, monkeypatch: pytest.MonkeyPatch, private_dir: Path) -> None:
    """Make `get_engine()` and the settings use `engine`'s database and a private folder."""
    monkeypatch.setenv("DISTRO_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DISTRO_PRIVATE_DIR", str(private_dir))
    reset_settings()
    reset_engine()


@pytest.fixture
def world(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ApiWorld]:
    """The API on the `engine` fixture's database with one signed-in session per user."""
    point_app_at(engine, monkeypatch, tmp_path / "private")
    people = build_people(engine)
    tokens = {}
    with Session(engine) as session:
        for username in people.usernames:
            _, tokens[username] = accounts.sign_in(session, username, PASSWORD, "127.0.0.1")
    with TestClient(create_api(), raise_server_exceptions=False) as client:
        yield ApiWorld(client, engine, people, tokens)
    reset_engine()
