"""Database engine, sessions and the migration entry point."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import event, insert, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel, create_engine

from distro.settings import REPO_ROOT, get_settings

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite database file, which SQLite itself will not do."""
    if not url.startswith("sqlite"):
        return
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> Engine:
    """Create an engine for `url` with the options Distro relies on.

    SQLite gets foreign keys on, a busy timeout and WAL so that the web app and a CLI import
    can share the file. PostgreSQL gets pre-ping so that a restarted server is noticed.
    """
    if url.startswith("sqlite"):
        ensure_sqlite_folder(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine

    return create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=20)


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """Return the process-wide engine for the configured database URL."""
    return make_engine(get_settings().database_url)


def reset_engine() -> None:
    """Dispose of the cached engine so the next call reads the settings again."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """Open a session that commits on success and rolls back on any exception."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def insert_objects(session: Session, objects: Sequence[SQLModel]) -> None:
    """Insert new objects of one model in one statement and attach them to the session.

    A lighter path than `session.add` plus a flush, for the hottest writes. The rows go out
    as one INSERT, and primary keys left as None are filled from RETURNING. Each object
    then joins the session as a clean persistent instance, as if it had been loaded. Relationships and defaults that are not already set on the
    object are not applied, so set every column the row needs before calling. Pending
    changes in the session are flushed first.
    """
    if not objects:
        return
    # Pending ORM changes go first, so that rows this insert refers to exist.
    session.flush()

    model = type(objects[0])
    mapper = inspect(model)
    table = mapper.local_table
    (key_column,) = mapper.primary_key
    key_attr = mapper.get_property_by_column(key_column).key
    columns = [(prop.key, prop.columns[0].key) for prop in mapper.column_attrs]

    needs_keys = any(getattr(obj, key_attr) is None for obj in objects)
    rows = []
    for obj in objects:
        row = {name: getattr(obj, attr) for attr, name in columns}
        if needs_keys:
            row.pop(key_column.key)
        rows.append(row)

    if needs_keys:
        statement = _insert_returning(table)
        keys = session.execute(statement, rows).scalars().all()
        for obj, key in zip(objects, keys, strict=True):
            setattr(obj, key_attr, key)
    else:
        session.execute(_insert(table), rows)

    for obj in objects:
        make_transient_to_detached(obj)
        session.add(obj)


def insert_rows(session: Session, table, rows: Sequence[dict]) -> None:
    """Insert plain rows (column name -> value) into `table` with one cached statement.

    Every row must name the same columns. Nothing is flushed first and no object is made.
    """
    if rows:
        session.execute(_insert(table), list(rows))


@lru_cache(maxsize=64)
def _insert(table):
    return insert(table)


@lru_cache(maxsize=64)
def _insert_returning(table):
    (key_column,) = table.primary_key.columns
    return insert(table).returning(key_column, sort_by_parameter_order=True)


def alembic_config(url: str):
    """Build an Alembic config that points at the packaged migrations and `url`."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str | None = None) -> None:
    """Apply every pending migration to the database at `url` (default: the settings)."""
    from alembic import command

    url = url or get_settings().database_url
    ensure_sqlite_folder(url)
    logger.info("Applying migrations to %s", mask_url(url))
    command.upgrade(alembic_config(url), "head")


def mask_url(url: str) -> str:
    """Hide the password in a database URL before it is logged."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def default_sqlite_path() -> Path:
    """Return the path of the embedded SQLite database."""
    return REPO_ROOT / "data" / "distro.db"
