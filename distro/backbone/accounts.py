"""Users, passwords, sign-in sessions and API tokens.

Passwords are hashed with Argon2id using the parameters in the settings; a stored hash made
with other parameters is replaced at the user's next successful sign-in. Session and API
tokens are 256-bit random strings that the client keeps; the database stores only their
SHA-256, so a leaked table does not let anyone sign in.

Failed sign-in attempts are rows in `SignInAttempt`, so every backend worker, on every
machine, counts the same failures.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, col, func, select

from distro.backbone.actors import Actor
from distro.backbone.authz import require_role
from distro.backbone.errors import (
    AuthenticationError,
    NotFoundError,
    RateLimitedError,
    ValidationError,
)
from distro.backbone.events import record_event
from distro.backbone.models import (
    ApiToken,
    Customer,
    Dealer,
    Rider,
    Role,
    SignInAttempt,
    User,
    UserSession,
    utc_now,
)
from distro.settings import get_settings

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
"""Longer passwords are rejected so that one request cannot make hashing arbitrarily slow."""

LAST_SEEN_RESOLUTION_S = 60
"""`last_seen_at` is written at most once a minute per session, so the idle timeout is
accurate to about a minute and busy pages do not write on every event."""

API_TOKEN_PREFIX = "dst_"  # noqa: S105 (a prefix, not a secret)
"""Marks API tokens so that they are recognisable in a leak report."""

SIGN_IN_ROLES = (Role.DEALER, Role.CUSTOMER, Role.RIDER, Role.DISPATCHER, Role.MANAGER, Role.ADMIN)
"""Roles a person can sign in with; `system` is for unattended jobs only."""


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_kib,
        parallelism=parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def password_hasher() -> PasswordHasher:
    """Return the Argon2id hasher built from the current settings."""
    settings = get_settings()
    return _hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )


def hash_password(password: str) -> str:
    """Hash `password` with Argon2id and return the encoded hash (parameters and salt included)."""
    return password_hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether `password` matches `password_hash`; a malformed hash never matches."""
    try:
        return password_hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Return whether `password_hash` was made with parameters other than the current ones."""
    return password_hasher().check_needs_rehash(password_hash)


def token_digest(token: str) -> str:
    """Return the SHA-256 hex digest under which a session or API token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_username(username: str) -> str:
    """Return the stored form of a username: trimmed and lower-case."""
    return username.strip().lower()


def check_password_policy(password: str) -> None:
    """Raise ValidationError unless the password's length is within the accepted range."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"The password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}.",
            field="password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(
            f"The password has {len(password)} characters; use at most {MAX_PASSWORD_LENGTH}.",
            field="password",
        )


def actor_for(user: User) -> Actor:
    """Return the Actor a signed-in `user` acts as."""
    return Actor(
        username=user.username,
        role=Role(user.role),
        dealer_id=user.dealer_id,
        customer_id=user.customer_id,
        rider_id=user.rider_id,
        user_id=user.id,
    )


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _check_tenant(
    session: Session,
    role: Role,
    dealer_id: int | None,
    customer_id: int | None,
    rider_id: int | None,
) -> None:
    """Raise ValidationError unless the tenant ids fit the role and exist."""
    required = {
        Role.DEALER: ("dealer_id", dealer_id, Dealer),
        Role.CUSTOMER: ("customer_id", customer_id, Customer),
        Role.RIDER: ("rider_id", rider_id, Rider),
    }
    given = {"dealer_id": dealer_id, "customer_id": customer_id, "rider_id": rider_id}
    expected_field = required[role][0] if role in required else None
    for field, value in given.items():
        if value is not None and field != expected_field:
            raise ValidationError(
                f"A {role} user cannot have {field}; leave it empty.", field=field
            )
    if expected_field is None:
        return
    _, value, model = required[role]
    if value is None:
        raise ValidationError(f"A {role} user needs {expected_field}.", field=expected_field)
    if session.get(model, value) is None:
        raise ValidationError(f"{expected_field} {value} does not exist.", field=expected_field)


def create_user(
    session: Session,
    username: str,
    password: str,
    role: Role | str,
    *,
    dealer_id: int | None = None,
    customer_id: int | None = None,
    rider_id: int | None = None,
    full_name: str = "",
    actor: Actor | None = None,
) -> User:
    """Add a user with a hashed password, bound to its dealer, customer or rider.

    Args:
        session: Open session; the caller commits.
        username: Sign-in name; stored trimmed and lower-case, unique.
        password: Plain password; only its Argon2id hash is stored.
        role: One of the sign-in roles (not `system`).
        dealer_id: Required for dealer staff, and only for them.
        customer_id: Required for customers, and only for them.
        rider_id: Required for riders, and only for them.
        full_name: Name shown in the app.
        actor: Who creates the user (recorded on the event); default the system.

    Raises:
        ValidationError: bad username, password, role or tenant, or the username is taken.

    """
    name = normalize_username(username)
    if not name or len(name) > 80 or not all(c.isalnum() or c in "._-@" for c in name):
        raise ValidationError(
            f"Username {username!r} is invalid; use 1-80 letters, digits, '.', '_', '-' or '@'.",
            field="username",
        )
    try:
        role = Role(role)
    except ValueError as exc:
        raise ValidationError(f"Role {role!r} does not exist.", field="role") from exc
    if role not in SIGN_IN_ROLES:
        raise ValidationError(f"Role {role} cannot sign in; pick a person's role.", field="role")
    check_password_policy(password)
    _check_tenant(session, role, dealer_id, customer_id, rider_id)
    if session.exec(select(User.id).where(User.username == name)).first() is not None:
        raise ValidationError(f"Username {name!r} is taken; choose another.", field="username")

    user = User(
        username=name,
        full_name=full_name,
        password_hash=hash_password(password),
        role=role,
        dealer_id=dealer_id,
        customer_id=customer_id,
        rider_id=rider_id,
    )
    session.add(user)
    session.flush()
    record_event(
        session,
        actor or _system_actor(),
        "user",
        user.id,
        "user_created",
        to_state="active",
        payload={"username": name, "role": str(role)},
    )
    logger.info("Created user %s (%s)", name, role)
    return user


def _system_actor() -> Actor:
    from distro.backbone.actors import SYSTEM

    return SYSTEM


def _failures_since(session: Session, column, value: str, since: datetime) -> list[datetime]:
    statement = (
        select(SignInAttempt.at)
        .where(
            column == value, col(SignInAttempt.succeeded).is_(False), col(SignInAttempt.at) > since
        )
        .order_by(col(SignInAttempt.at))
    )
    return [_aware(moment) for moment in session.exec(statement)]


def _check_rate_limit(session: Session, username: str, client_address: str, now: datetime) -> None:
    """Raise RateLimitedError when the account or the address used up its failures in the window."""
    settings = get_settings()
    window = timedelta(seconds=settings.signin_window_s)
    since = now - window
    checks = (
        (
            "account",
            col(SignInAttempt.username),
            username,
            settings.signin_max_failures_per_account,
        ),
        (
            "address",
            col(SignInAttempt.client_address),
            client_address,
            settings.signin_max_failures_per_address,
        ),
    )
    for scope, column, value, limit in checks:
        failures = _failures_since(session, column, value, since)
        if len(failures) < limit:
            continue
        # The limit lifts when enough of the oldest failures leave the window.
        frees_at = failures[len(failures) - limit] + window
        retry_after = max(1, math.ceil((frees_at - now).total_seconds()))
        logger.warning(
            "Sign-in rate limit reached for %s %s: %d failures in %d s",
            scope,
            username if scope == "account" else client_address,
            len(failures),
            settings.signin_window_s,
        )
        raise RateLimitedError(
            f"Too many failed sign-in attempts; try again in {retry_after} seconds.",
            retry_after_s=retry_after,
            scope=scope,
        )


def sign_in(
    session: Session, username: str, password: str, client_address: str
) -> tuple[User, str]:
    """Check a username and password and open a new session with a fresh token.

    Records the attempt and commits the session, so that a failure counts towards the rate
    limit even though this function then raises.

    Args:
        session: Open session; committed here.
        username: As typed; compared trimmed and lower-case.
        password: As typed.
        client_address: The client's IP address, for the per-address rate limit.

    Returns:
        The user and the new session token; give the token to the client, it is not stored.

    Raises:
        RateLimitedError: too many recent failures for this username or this address.
        AuthenticationError: unknown user, wrong password or disabled user (one message for all).

    """
    name = normalize_username(username)[:80]
    address = (client_address or "unknown")[:64]
    now = utc_now()
    _check_rate_limit(session, name, address, now)

    user = session.exec(select(User).where(User.username == name)).first()
    if user is None:
        # Hash anyway so that unknown usernames take as long as wrong passwords.
        verify_password(_dummy_hash(), password)
        valid = False
    else:
        valid = verify_password(user.password_hash, password) and user.active

    session.add(SignInAttempt(at=now, username=name, client_address=address, succeeded=valid))
    if not valid:
        session.commit()
        logger.warning("Sign-in failed for %r from %s", name, address)
        raise AuthenticationError("Wrong username or password, or the account is disabled.")

    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
        logger.info("Rehashed the password of user %s with the current Argon2 parameters", name)

    token = secrets.token_urlsafe(32)
    settings = get_settings()
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=token_digest(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=settings.session_max_age_s),
        )
    )
    session.commit()
    logger.info("User %s signed in from %s", name, address)
    return user, token


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def resolve_token(session: Session, token: str | None) -> Actor | None:
    """Return the Actor of a live session token, or None.

    A session is live when it exists, is not revoked, has not passed its absolute expiry or
    its idle timeout, and its user is active. Refreshes `last_seen_at` (at most once a
    minute); the caller commits.
    """
    if not token:
        return None
    row = session.exec(
        select(UserSession, User)
        .join(User, col(User.id) == col(UserSession.user_id))
        .where(UserSession.token_hash == token_digest(token))
    ).first()
    if row is None:
        return None
    user_session, user = row
    now = utc_now()
    idle_limit = timedelta(seconds=get_settings().session_idle_timeout_s)
    if (
        user_session.revoked_at is not None
        or not user.active
        or _aware(user_session.expires_at) <= now
        or _aware(user_session.last_seen_at) + idle_limit <= now
    ):
        return None
    if (now - _aware(user_session.last_seen_at)).total_seconds() >= LAST_SEEN_RESOLUTION_S:
        user_session.last_seen_at = now
        session.add(user_session)
    return actor_for(user)


def sign_out(session: Session, token: str | None) -> None:
    """End the session of `token`, if it is live; the caller commits."""
    if not token:
        return
    user_session = session.exec(
        select(UserSession).where(UserSession.token_hash == token_digest(token))
    ).first()
    if user_session is not None and user_session.revoked_at is None:
        user_session.revoked_at = utc_now()
        session.add(user_session)
        logger.info("Session %d of user %d signed out", user_session.id, user_session.user_id)


def revoke_sessions(session: Session, user_id: int) -> int:
    """End every live session of a user and return how many were ended; the caller commits."""
    now = utc_now()
    live = session.exec(
        select(UserSession).where(
            UserSession.user_id == user_id, col(UserSession.revoked_at).is_(None)
        )
    ).all()
    for user_session in live:
        user_session.revoked_at = now
        session.add(user_session)
    return len(live)


def _get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"User {user_id} not found", user_id=user_id)
    return user


def disable_user(session: Session, actor: Actor, user_id: int) -> User:
    """Disable a user and end all their sessions; their next request is refused.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        NotFoundError: no such user.
        ValidationError: an admin tried to disable themselves.

    """
    require_role(actor, Role.ADMIN, Role.SYSTEM, target=f"user {user_id}")
    user = _get_user(session, user_id)
    if actor.user_id == user.id:
        raise ValidationError(
            "You cannot disable your own account; ask another admin.", user_id=user_id
        )
    ended = revoke_sessions(session, user.id)
    if user.active:
        user.active = False
        session.add(user)
        record_event(
            session,
            actor,
            "user",
            user.id,
            "user_disabled",
            from_state="active",
            to_state="disabled",
            payload={"sessions_ended": ended},
        )
    logger.info("User %s disabled by %s; %d sessions ended", user.username, actor.username, ended)
    return user


def enable_user(session: Session, actor: Actor, user_id: int) -> User:
    """Enable a disabled user; they sign in again with their password.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        NotFoundError: no such user.

    """
    require_role(actor, Role.ADMIN, Role.SYSTEM, target=f"user {user_id}")
    user = _get_user(session, user_id)
    if not user.active:
        user.active = True
        session.add(user)
        record_event(
            session,
            actor,
            "user",
            user.id,
            "user_enabled",
            from_state="disabled",
            to_state="active",
        )
    return user


def reset_password(session: Session, actor: Actor, user_id: int, new_password: str) -> User:
    """Set a new password for a user and end all their sessions.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        NotFoundError: no such user.
        ValidationError: the password breaks the length rule.

    """
    require_role(actor, Role.ADMIN, Role.SYSTEM, target=f"user {user_id}")
    check_password_policy(new_password)
    user = _get_user(session, user_id)
    user.password_hash = hash_password(new_password)
    session.add(user)
    ended = revoke_sessions(session, user.id)
    record_event(
        session, actor, "user", user.id, "user_password_reset", payload={"sessions_ended": ended}
    )
    logger.info("Password of user %s reset by %s", user.username, actor.username)
    return user


def list_users(session: Session, actor: Actor, limit: int = 200) -> list[User]:
    """Return up to `limit` users ordered by username.

    Raises:
        PermissionDeniedError: the actor is not an admin.

    """
    require_role(actor, Role.ADMIN, target="user list")
    return list(session.exec(select(User).order_by(col(User.username)).limit(limit)))


def create_api_token(
    session: Session,
    actor: Actor,
    name: str,
    role: Role | str,
    *,
    dealer_id: int | None = None,
    customer_id: int | None = None,
    rider_id: int | None = None,
) -> tuple[ApiToken, str]:
    """Create an API token with a fixed role and tenant.

    Returns:
        The stored record and the token itself, which is shown once and not stored.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        ValidationError: empty name, unknown role or tenant ids that do not fit the role.

    """
    require_role(actor, Role.ADMIN, target="API tokens")
    name = name.strip()
    if not name or len(name) > 80:
        raise ValidationError(
            "Give the token a name of 1-80 characters, such as the system that uses it.",
            field="name",
        )
    try:
        role = Role(role)
    except ValueError as exc:
        raise ValidationError(f"Role {role!r} does not exist.", field="role") from exc
    if role == Role.SYSTEM:
        raise ValidationError("API tokens cannot have the system role.", field="role")
    _check_tenant(session, role, dealer_id, customer_id, rider_id)

    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        name=name,
        token_hash=token_digest(token),
        role=role,
        dealer_id=dealer_id,
        customer_id=customer_id,
        rider_id=rider_id,
        created_by=actor.username,
    )
    session.add(record)
    session.flush()
    record_event(
        session,
        actor,
        "api_token",
        record.id,
        "api_token_created",
        payload={"name": name, "role": str(role)},
    )
    logger.info("API token %d (%s, %s) created by %s", record.id, name, role, actor.username)
    return record, token


def revoke_api_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    """Revoke an API token; requests with it are refused from then on.

    Raises:
        PermissionDeniedError: the actor is not an admin.
        NotFoundError: no such token.

    """
    require_role(actor, Role.ADMIN, target=f"API token {token_id}")
    record = session.get(ApiToken, token_id)
    if record is None:
        raise NotFoundError(f"API token {token_id} not found", token_id=token_id)
    if record.revoked_at is None:
        record.revoked_at = utc_now()
        session.add(record)
        record_event(
            session,
            actor,
            "api_token",
            record.id,
            "api_token_revoked",
            payload={"name": record.name},
        )
        logger.info("API token %d (%s) revoked by %s", record.id, record.name, actor.username)
    return record


def list_api_tokens(session: Session, actor: Actor) -> list[ApiToken]:
    """Return every API token, newest first (hashes only, never the tokens).

    Raises:
        PermissionDeniedError: the actor is not an admin.

    """
    require_role(actor, Role.ADMIN, target="API tokens")
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id).desc())))


def resolve_api_token(session: Session, token: str | None) -> Actor | None:
    """Return the Actor of a live API token, or None; the caller commits `last_used_at`."""
    if not token or not token.startswith(API_TOKEN_PREFIX):
        return None
    record = session.exec(
        select(ApiToken).where(ApiToken.token_hash == token_digest(token))
    ).first()
    if record is None or record.revoked_at is not None:
        return None
    now = utc_now()
    last = _aware(record.last_used_at) if record.last_used_at else None
    if last is None or (now - last).total_seconds() >= LAST_SEEN_RESOLUTION_S:
        record.last_used_at = now
        session.add(record)
    return Actor(
        username=f"api:{record.name}",
        role=Role(record.role),
        dealer_id=record.dealer_id,
        customer_id=record.customer_id,
        rider_id=record.rider_id,
        api_token_id=record.id,
    )


def create_demo_users(session: Session) -> list[tuple[Role, str, str]]:
    """Create one user per sign-in role for the demo network, with random passwords.

    Binds the dealer user to the first dealer, the customer to the first customer and the
    rider to the first rider (by id); roles whose record does not exist are skipped.
    Existing demo usernames are left as they are and not listed. The caller commits.

    Returns:
        (role, username, password) of each user created; print them, they are not stored.

    Raises:
        ValidationError: DISTRO_ENV is prod, where accounts with printed passwords are refused.

    """
    if get_settings().env == "prod":
        raise ValidationError(
            "Demo users are not created when DISTRO_ENV=prod; create real users in /admin."
        )

    first = {
        Role.DEALER: session.exec(select(func.min(Dealer.id))).one(),
        Role.CUSTOMER: session.exec(select(func.min(Customer.id))).one(),
        Role.RIDER: session.exec(select(func.min(Rider.id))).one(),
    }
    created = []
    for role in SIGN_IN_ROLES:
        username = f"demo-{role}"
        if session.exec(select(User.id).where(User.username == username)).first() is not None:
            continue
        tenant = {}
        if role in first:
            if first[role] is None:
                continue
            tenant = {f"{role}_id": first[role]}
        password = secrets.token_urlsafe(9)
        create_user(session, username, password, role, full_name=f"Demo {role}", **tenant)
        created.append((role, username, password))
    return created
