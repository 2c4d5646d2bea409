"""The migrations create exactly the schema the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import distro.backbone.models  # noqa: F401  (registers every table)


def test_migrations_match_models(engine):
    """A database migrated to head differs in nothing from the models' metadata."""
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)

    assert differences == []
