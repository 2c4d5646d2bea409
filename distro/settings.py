"""Every environment variable Distro reads, declared once with its default and meaning.

Values are read when `get_settings()` is first called; tests call `reset_settings()` after
changing the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number; set it to a decimal such as {default}") from exc


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a whole number; set it to, for example, {default}") from exc


def _env_list(name: str, default: str) -> tuple[str, ...]:
    raw = os.environ.get(name)
    if raw is None:
        raw = default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Runtime configuration, one field per environment variable."""

    database_url: str
    """DISTRO_DATABASE_URL: SQLAlchemy URL. Default: SQLite file data/distro.db under the repository."""

    tile_url: str
    """DISTRO_TILE_URL: map tile URL template ({z}/{x}/{y}); empty shows the map with no tiles."""

    tile_attribution: str
    """DISTRO_TILE_ATTRIBUTION: attribution text shown on the map for the tile server."""

    osrm_url: str
    """DISTRO_OSRM_URL: base URL of an OSRM server for road distances; empty uses haversine."""

    road_factor: float
    """DISTRO_ROAD_FACTOR: haversine distance multiplier that approximates road distance."""

    speed_kmh: float
    """DISTRO_SPEED_KMH: average vehicle speed in km/h for travel times without OSRM."""

    plan_time_limit: float
    """DISTRO_PLAN_TIME_LIMIT: seconds the planner may search for one board plan."""

    max_stops_per_route: int
    """DISTRO_MAX_STOPS_PER_ROUTE: maximum number of stops on one planned route; 0 is no limit."""

    timezone: str
    """DISTRO_TIMEZONE: IANA time zone of the network, used for delivery days and time windows."""

    api_base_url: str
    """DISTRO_API_URL: public URL of the backend (where /api/v1 is served), as the browser sees it."""

    redis_url: str
    """DISTRO_REDIS_URL: Redis URL for shared counters and live updates; empty uses the database."""

    env: str
    """DISTRO_ENV: "dev" or "prod"; prod refuses placeholder secrets and every-origin CORS."""

    cost_per_km: float
    """DISTRO_COST_PER_KM: running cost of a vehicle per km driven, in currency units (KPIs)."""

    cost_per_rider_hour: float
    """DISTRO_COST_PER_RIDER_HOUR: cost of one rider hour on a route, in currency units (KPIs)."""

    cost_per_vehicle_day: float
    """DISTRO_COST_PER_VEHICLE_DAY: fixed cost of a vehicle used on a day, in currency units."""

    payment_terms_days: int
    """DISTRO_PAYMENT_TERMS_DAYS: days after delivery until a dealer's invoice is due (KPIs)."""

    eta_tolerance_min: int
    """DISTRO_ETA_TOLERANCE_MIN: minutes after the ETA that still count as on time for a stop
    without a time window (KPIs)."""

    session_idle_timeout_s: int
    """DISTRO_SESSION_IDLE_TIMEOUT_S: seconds without activity after which a session ends."""

    session_max_age_s: int
    """DISTRO_SESSION_MAX_AGE_S: seconds after sign-in after which a session ends, active or not."""

    signin_window_s: int
    """DISTRO_SIGNIN_WINDOW_S: seconds over which failed sign-in attempts are counted."""

    signin_max_failures_per_account: int
    """DISTRO_SIGNIN_MAX_FAILURES_PER_ACCOUNT: failed attempts on one username per window."""

    signin_max_failures_per_address: int
    """DISTRO_SIGNIN_MAX_FAILURES_PER_ADDRESS: failed attempts from one client IP per window."""

    argon2_time_cost: int
    """DISTRO_ARGON2_TIME_COST: Argon2id iterations; other stored values are rehashed at sign-in."""

    argon2_memory_kib: int
    """DISTRO_ARGON2_MEMORY_KIB: Argon2id memory in KiB per hash."""

    argon2_parallelism: int
    """DISTRO_ARGON2_PARALLELISM: Argon2id lanes per hash."""

    cors_origins: tuple[str, ...]
    """DISTRO_CORS_ORIGINS: comma-separated origins that may call the app; prod refuses "*"."""

    private_dir: Path
    """DISTRO_PRIVATE_DIR: folder for uploads that no static route serves (proof of delivery)."""

    proof_max_bytes: int
    """DISTRO_PROOF_MAX_BYTES: largest accepted proof-of-delivery upload, in bytes."""

    proof_max_pixels: int
    """DISTRO_PROOF_MAX_PIXELS: largest accepted proof image, in pixels (width x height)."""

    proof_required: tuple[str, ...]
    """DISTRO_PROOF_REQUIRED: default proof of delivery, comma-separated from "signature",
    "photo" and "code"; a stop's own policy overrides it."""

    code_secret: str
    """DISTRO_CODE_SECRET: server secret from which confirmation codes are derived."""

    code_max_tries: int
    """DISTRO_CODE_MAX_TRIES: wrong confirmation codes after which the code locks."""

    pod_max_distance_m: int
    """DISTRO_POD_MAX_DISTANCE_M: metres from the stop beyond which a completion is flagged."""

    position_interval_s: int
    """DISTRO_POSITION_INTERVAL_S: seconds between the positions a rider's device sends."""

    rider_idle_min: int
    """DISTRO_RIDER_IDLE_MIN: minutes without a position or update after which a rider is idle."""

    off_route_m: int
    """DISTRO_OFF_ROUTE_M: metres from every remaining stop and the depot beyond which a rider
    is off route."""

    @property
    def is_sqlite(self) -> bool:
        """Whether the configured database is SQLite."""
        return self.database_url.startswith("sqlite")


def _default_database_url() -> str:
    return f"sqlite:///{REPO_ROOT / 'data' / 'distro.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings from the environment once and return them."""
    return Settings(
        database_url=os.environ.get("DISTRO_DATABASE_URL") or _default_database_url(),
        tile_url=os.environ.get("DISTRO_TILE_URL", "http://127.0.0.1:8080/tile/{z}/{x}/{y}.png"),
        tile_attribution=os.environ.get("DISTRO_TILE_ATTRIBUTION", "Map tiles: local tile server"),
        osrm_url=os.environ.get("DISTRO_OSRM_URL", ""),
        road_factor=_env_float("DISTRO_ROAD_FACTOR", 1.3),
        speed_kmh=_env_float("DISTRO_SPEED_KMH", 30.0),
        plan_time_limit=_env_float("DISTRO_PLAN_TIME_LIMIT", 10.0),
        max_stops_per_route=_env_int("DISTRO_MAX_STOPS_PER_ROUTE", 0),
        timezone=os.environ.get("DISTRO_TIMEZONE", "UTC"),
        api_base_url=os.environ.get("DISTRO_API_URL", "http://localhost:8000"),
        redis_url=os.environ.get("DISTRO_REDIS_URL", ""),
        env=os.environ.get("DISTRO_ENV", "dev"),
        cost_per_km=_env_float("DISTRO_COST_PER_KM", 0.5),
        cost_per_rider_hour=_env_float("DISTRO_COST_PER_RIDER_HOUR", 15.0),
        cost_per_vehicle_day=_env_float("DISTRO_COST_PER_VEHICLE_DAY", 40.0),
        payment_terms_days=_env_int("DISTRO_PAYMENT_TERMS_DAYS", 30),
        eta_tolerance_min=_env_int("DISTRO_ETA_TOLERANCE_MIN", 15),
        session_idle_timeout_s=_env_int("DISTRO_SESSION_IDLE_TIMEOUT_S", 4 * 3600),
        session_max_age_s=_env_int("DISTRO_SESSION_MAX_AGE_S", 14 * 3600),
        signin_window_s=_env_int("DISTRO_SIGNIN_WINDOW_S", 15 * 60),
        signin_max_failures_per_account=_env_int("DISTRO_SIGNIN_MAX_FAILURES_PER_ACCOUNT", 5),
        signin_max_failures_per_address=_env_int("DISTRO_SIGNIN_MAX_FAILURES_PER_ADDRESS", 20),
        argon2_time_cost=_env_int("DISTRO_ARGON2_TIME_COST", 3),
        argon2_memory_kib=_env_int("DISTRO_ARGON2_MEMORY_KIB", 64 * 1024),
        argon2_parallelism=_env_int("DISTRO_ARGON2_PARALLELISM", 4),
        cors_origins=_env_list("DISTRO_CORS_ORIGINS", "http://localhost:3000,http://127.0.0.1:3000"),
        private_dir=Path(os.environ.get("DISTRO_PRIVATE_DIR") or REPO_ROOT / "data" / "private"),
        proof_max_bytes=_env_int("DISTRO_PROOF_MAX_BYTES", 8 * 1024 * 1024),
        proof_max_pixels=_env_int("DISTRO_PROOF_MAX_PIXELS", 40_000_000),
        proof_required=_env_list("DISTRO_PROOF_REQUIRED", "signature"),
        code_secret=os.environ.get("DISTRO_CODE_SECRET", "dev-only-confirmation-code-secret"),
        code_max_tries=_env_int("DISTRO_CODE_MAX_TRIES", 5),
        pod_max_distance_m=_env_int("DISTRO_POD_MAX_DISTANCE_M", 300),
        position_interval_s=_env_int("DISTRO_POSITION_INTERVAL_S", 20),
        rider_idle_min=_env_int("DISTRO_RIDER_IDLE_MIN", 20),
        off_route_m=_env_int("DISTRO_OFF_ROUTE_M", 3000),
    )


def reset_settings() -> None:
    """Forget the cached settings so the next `get_settings()` reads the environment again."""
    get_settings.cache_clear()


PLACEHOLDER_PASSWORDS = frozenset(
    {"changeme", "change-me", "password", "secret", "placeholder", "example", "postgres"}
)
"""Database passwords that production refuses because they are defaults or examples."""


Origins = tuple[str, ...] | list[str] | None


def production_problems(settings: Settings, cors_origins: Origins = None) -> list[str]:
    """Return what makes `settings` unsafe for DISTRO_ENV=prod; empty when nothing does or in dev.

    Args:
        settings: The settings to check.
        cors_origins: The origins the web server actually allows, when they come from
            elsewhere (Reflex's own config); default `settings.cors_origins`.
    """
    if settings.env != "prod":
        return []
    problems = []
    origins = tuple(cors_origins if cors_origins is not None else settings.cors_origins)
    if not origins:
        problems.append(
            "DISTRO_CORS_ORIGINS is empty; set it to the site's origin, such as https://ops.example.com."
        )
    if "*" in origins:
        problems.append(
            "DISTRO_CORS_ORIGINS (or REFLEX_CORS_ALLOWED_ORIGINS) allows every origin ('*'); "
            "list the site's origins."
        )
    from sqlalchemy.engine import make_url

    password = make_url(settings.database_url).password
    if password is not None and (password.lower() in PLACEHOLDER_PASSWORDS or len(password) < 12):
        problems.append(
            "The password in DISTRO_DATABASE_URL is a placeholder or shorter than 12 characters; "
            "use a real secret."
        )
    if settings.code_secret == "dev-only-confirmation-code-secret" or len(settings.code_secret) < 24:
        problems.append("DISTRO_CODE_SECRET is the development default or shorter than 24 characters; set a random secret.")
    return problems


def check_production_settings(settings: Settings, cors_origins: Origins = None) -> None:
    """Raise RuntimeError listing every problem `production_problems` finds."""
    problems = production_problems(settings, cors_origins)
    if problems:
        raise RuntimeError("Refusing to start with DISTRO_ENV=prod: " + " ".join(problems))
