"""Passwords, sessions, timeouts, disabling and the sign-in rate limit."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select, update

from distro.backbone import accounts
from distro.backbone.actors import Actor
from distro.backbone.errors import (
    AuthenticationError,
    PermissionDeniedError,
    RateLimitedError,
    ValidationError,
)
from distro.backbone.models import Role, SignInAttempt, User, UserSession, utc_now
from distro.db import make_engine
from distro.settings import reset_settings
from tests.auth.conftest import PASSWORD, People

ADMIN = Actor(username="root-admin", role=Role.ADMIN)


def sign_in(engine: Engine, username: str, password: str = PASSWORD, address: str = "10.0.0.1"):
    with Session(engine, expire_on_commit=False) as session:
        return accounts.sign_in(session, username, password, address)


def resolve(engine: Engine, token: str) -> Actor | None:
    with Session(engine) as session:
        actor = accounts.resolve_token(session, token)
        session.commit()
        return actor


def test_hash_password_uses_argon2id_parameters(monkeypatch):
    monkeypatch.setenv("DISTRO_ARGON2_TIME_COST", "2")
    monkeypatch.setenv("DISTRO_ARGON2_MEMORY_KIB", "2048")
    monkeypatch.setenv("DISTRO_ARGON2_PARALLELISM", "2")
    reset_settings()
    encoded = accounts.hash_password("s3cret-password")
    assert encoded.startswith("$argon2id$v=19$")
    assert "m=2048,t=2,p=2" in encoded
    assert accounts.verify_password(encoded, "s3cret-password")
    assert not accounts.verify_password(encoded, "wrong-password")
    assert not accounts.verify_password("not a hash", "s3cret-password")


def test_needs_rehash_after_parameter_change(monkeypatch):
    encoded = accounts.hash_password("s3cret-password")
    assert not accounts.needs_rehash(encoded)
    monkeypatch.setenv("DISTRO_ARGON2_TIME_COST", "2")
    reset_settings()
    assert accounts.needs_rehash(encoded)


def test_sign_in_rehashes_old_parameters(engine, people: People, monkeypatch):
    monkeypatch.setenv("DISTRO_ARGON2_TIME_COST", "2")
    reset_settings()
    sign_in(engine, "dispatcher")
    with Session(engine) as session:
        stored = session.exec(select(User).where(User.username == "dispatcher")).one().password_hash
    assert "t=2" in stored
    assert accounts.verify_password(stored, PASSWORD)


def test_sign_in_new_token_each_time(engine, people: People):
    _, first = sign_in(engine, "dealer0")
    _, second = sign_in(engine, "dealer0")
    assert first != second
    assert resolve(engine, first) is not None
    assert resolve(engine, second) is not None
    with Session(engine) as session:
        hashes = set(session.exec(select(UserSession.token_hash)))
    assert hashlib.sha256(first.encode()).hexdigest() in hashes
    assert first not in hashes


def test_resolve_token_returns_tenant(engine, people: People):
    _, token = sign_in(engine, "  Dealer0 ")
    actor = resolve(engine, token)
    assert actor is not None
    assert actor.role == Role.DEALER
    assert actor.dealer_id == people.network.dealer_ids[0]
    assert actor.username == "dealer0"


def test_resolve_token_unknown_is_none(engine, people: People):
    assert resolve(engine, "no-such-token") is None
    assert resolve(engine, "") is None


def test_sign_in_wrong_password_rejected(engine, people: People):
    with pytest.raises(AuthenticationError) as caught:
        sign_in(engine, "dealer0", "wrong password!")
    assert caught.value.code == "INVALID_CREDENTIALS"
    assert caught.value.http_status == 401


def test_sign_in_unknown_user_rejected(engine, people: People):
    with pytest.raises(AuthenticationError):
        sign_in(engine, "nobody", PASSWORD)


def test_sign_out_ends_session(engine, people: People):
    _, token = sign_in(engine, "rider0")
    with Session(engine) as session:
        accounts.sign_out(session, token)
        session.commit()
    assert resolve(engine, token) is None


def test_disable_user_ends_sessions_and_sign_in(engine, people: People):
    _, token = sign_in(engine, "dealer1")
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "dealer1")).one()
        accounts.disable_user(session, ADMIN, user.id)
        session.commit()
    assert resolve(engine, token) is None
    with pytest.raises(AuthenticationError):
        sign_in(engine, "dealer1")


def test_disable_user_requires_admin(engine, people: People, caplog):
    dispatcher = Actor(username="dispatcher", role=Role.DISPATCHER)
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "dealer1")).one()
        with pytest.raises(PermissionDeniedError):
            accounts.disable_user(session, dispatcher, user.id)
    assert any(
        r.levelno == logging.WARNING and "dispatcher" in r.getMessage() for r in caplog.records
    )


def test_reset_password_ends_sessions(engine, people: People):
    _, token = sign_in(engine, "customer0")
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "customer0")).one()
        accounts.reset_password(session, ADMIN, user.id, "a brand new password")
        session.commit()
    assert resolve(engine, token) is None
    with pytest.raises(AuthenticationError):
        sign_in(engine, "customer0")
    assert sign_in(engine, "customer0", "a brand new password")[1]


def test_idle_timeout_ends_session(engine, people: People):
    _, token = sign_in(engine, "manager")
    idle = timedelta(seconds=accounts.get_settings().session_idle_timeout_s + 1)
    with Session(engine) as session:
        session.exec(update(UserSession).values(last_seen_at=utc_now() - idle))
        session.commit()
    assert resolve(engine, token) is None


def test_activity_keeps_session_alive(engine, people: People):
    _, token = sign_in(engine, "manager")
    almost_idle = timedelta(seconds=accounts.get_settings().session_idle_timeout_s - 120)
    with Session(engine) as session:
        session.exec(update(UserSession).values(last_seen_at=utc_now() - almost_idle))
        session.commit()
    assert resolve(engine, token) is not None
    with Session(engine) as session:
        seen = session.exec(select(UserSession.last_seen_at)).one()
    assert accounts._aware(seen) > utc_now() - timedelta(seconds=10)


def test_absolute_timeout_ends_session(engine, people: People):
    _, token = sign_in(engine, "manager")
    with Session(engine) as session:
        session.exec(update(UserSession).values(expires_at=utc_now() - timedelta(seconds=1)))
        session.commit()
    assert resolve(engine, token) is None


def test_rate_limit_per_account(engine, people: People, monkeypatch):
    monkeypatch.setenv("DISTRO_SIGNIN_MAX_FAILURES_PER_ACCOUNT", "3")
    reset_settings()
    for attempt in range(3):
        with pytest.raises(AuthenticationError):
            sign_in(engine, "dealer0", "wrong password!", address=f"10.0.0.{attempt}")
    with pytest.raises(RateLimitedError) as caught:
        sign_in(engine, "dealer0", PASSWORD, address="10.0.0.99")
    assert caught.value.http_status == 429
    assert caught.value.code == "RATE_LIMITED"
    assert 0 < caught.value.details["retry_after_s"] <= accounts.get_settings().signin_window_s
    # Another account is not affected.
    assert sign_in(engine, "dealer1", address="10.0.0.99")[1]


def test_rate_limit_lifts_after_window(engine, people: People, monkeypatch):
    monkeypatch.setenv("DISTRO_SIGNIN_MAX_FAILURES_PER_ACCOUNT", "2")
    reset_settings()
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            sign_in(engine, "dealer0", "wrong password!")
    with pytest.raises(RateLimitedError):
        sign_in(engine, "dealer0")
    window = timedelta(seconds=accounts.get_settings().signin_window_s + 1)
    with Session(engine) as session:
        session.exec(update(SignInAttempt).values(at=utc_now() - window))
        session.commit()
    assert sign_in(engine, "dealer0")[1]


def test_rate_limit_per_address(engine, people: People, monkeypatch):
    monkeypatch.setenv("DISTRO_SIGNIN_MAX_FAILURES_PER_ADDRESS", "3")
    reset_settings()
    for name in ("dealer0", "dealer1", "rider0"):
        with pytest.raises(AuthenticationError):
            sign_in(engine, name, "wrong password!", address="192.0.2.7")
    with pytest.raises(RateLimitedError) as caught:
        sign_in(engine, "manager", address="192.0.2.7")
    assert caught.value.details["scope"] == "address"
    assert sign_in(engine, "manager", address="192.0.2.8")[1]


@pytest.mark.postgres
def test_rate_limit_shared_by_two_workers(postgres_engine, monkeypatch):
    """Two engines stand for two backend workers; their failures add up in one count."""
    from tests.auth.conftest import build_people

    monkeypatch.setenv("DISTRO_SIGNIN_MAX_FAILURES_PER_ACCOUNT", "4")
    reset_settings()
    build_people(postgres_engine)
    other_worker = make_engine(postgres_engine.url.render_as_string(hide_password=False))
    try:
        for worker in (postgres_engine, other_worker, postgres_engine, other_worker):
            with pytest.raises(AuthenticationError):
                sign_in(worker, "dealer0", "wrong password!")
        for worker in (postgres_engine, other_worker):
            with pytest.raises(RateLimitedError):
                sign_in(worker, "dealer0")
    finally:
        other_worker.dispose()


def test_create_user_requires_tenant(engine, people: People):
    with Session(engine) as session, pytest.raises(ValidationError) as caught:
        accounts.create_user(session, "lonely", PASSWORD, Role.DEALER)
    assert caught.value.details["field"] == "dealer_id"


def test_create_user_rejects_foreign_tenant_field(engine, people: People):
    with Session(engine) as session, pytest.raises(ValidationError) as caught:
        accounts.create_user(
            session,
            "mixed",
            PASSWORD,
            Role.RIDER,
            rider_id=people.network.rider_ids[0],
            dealer_id=people.network.dealer_ids[0],
        )
    assert caught.value.details["field"] == "dealer_id"


def test_create_user_rejects_short_password(engine, people: People):
    with Session(engine) as session, pytest.raises(ValidationError):
        accounts.create_user(session, "shorty", "short", Role.DISPATCHER)


def test_create_user_rejects_taken_username(engine, people: People):
    with Session(engine) as session, pytest.raises(ValidationError):
        accounts.create_user(session, "DEALER0", PASSWORD, Role.DISPATCHER)


def test_api_token_resolves_and_revokes(engine, people: People):
    with Session(engine, expire_on_commit=False) as session:
        record, token = accounts.create_api_token(
            session, ADMIN, "erp", Role.DEALER, dealer_id=people.network.dealer_ids[1]
        )
        session.commit()
    assert token.startswith("dst_")
    with Session(engine) as session:
        actor = accounts.resolve_api_token(session, token)
        session.commit()
    assert actor is not None
    assert actor.dealer_id == people.network.dealer_ids[1]
    assert actor.api_token_id == record.id
    with Session(engine) as session:
        accounts.revoke_api_token(session, ADMIN, record.id)
        session.commit()
    with Session(engine) as session:
        assert accounts.resolve_api_token(session, token) is None


def test_create_demo_users_one_per_role(engine, people: People):
    with Session(engine) as session:
        created = accounts.create_demo_users(session)
        session.commit()
    roles = {role for role, _, _ in created}
    assert roles == {
        Role.DEALER,
        Role.CUSTOMER,
        Role.RIDER,
        Role.DISPATCHER,
        Role.MANAGER,
        Role.ADMIN,
    }
    role, username, password = created[0]
    assert sign_in(engine, username, password)[0].role == role
    with Session(engine) as session:
        assert accounts.create_demo_users(session) == []
