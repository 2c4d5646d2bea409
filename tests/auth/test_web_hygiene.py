"""Production settings checks (the served app's public paths are tested in tests/e2e)."""

from __future__ import annotations

import dataclasses

import pytest

from distro.settings import check_production_settings, get_settings, production_problems


def prod(**changes):
    """Return the current settings switched to prod, with every other secret set properly."""
    secrets = {"code_secret": "x" * 40} if hasattr(get_settings(), "code_secret") else {}
    return dataclasses.replace(get_settings(), env="prod", **{**secrets, **changes})


def test_prod_rejects_every_origin():
    with pytest.raises(RuntimeError) as caught:
        check_production_settings(prod(cors_origins=("*",)))
    assert "every origin" in str(caught.value)


def test_prod_rejects_placeholder_database_password():
    problems = production_problems(
        prod(
            cors_origins=("https://ops.example.com",),
            database_url="postgresql+psycopg://app:changeme@db/distro",
        )
    )
    assert len(problems) == 1
    assert "DISTRO_DATABASE_URL" in problems[0]


def test_prod_accepts_listed_origins():
    settings = prod(cors_origins=("https://ops.example.com",), database_url="sqlite:///x.db")
    assert production_problems(settings) == []


def test_dev_allows_every_origin():
    assert (
        production_problems(dataclasses.replace(get_settings(), env="dev", cors_origins=("*",)))
        == []
    )
