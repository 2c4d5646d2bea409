"""Distance and travel-time matrices between geographic points.

Points are ``(lat, lon)`` pairs in degrees. Providers return integer metres and
integer seconds, the units that ``distro.routing.problem.Problem`` expects.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Protocol

import numpy as np

logger = logging.getLogger(__name__)

#: Mean Earth radius in metres (IUGG), the usual value for haversine distances.
EARTH_RADIUS_M = 6_371_008.8

#: Rows computed at once by ``HaversineProvider``; bounds its temporary memory.
_BLOCK_ROWS = 256


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance in metres between two points given in degrees."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlambda = np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlambda / 2) ** 2
    return float(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def haversine_matrix(points: np.ndarray) -> np.ndarray:
    """Return the ``(n, n)`` matrix of great-circle distances in metres.

    Args:
        points: Array of shape ``(n, 2)`` with latitude and longitude in degrees.

    Returns:
        Float matrix in metres with a zero diagonal.

    """
    pts = _as_points(points)
    return _haversine_rows(pts, pts)


def _haversine_rows(origins: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Return great-circle metres from each origin (rows) to each target (columns)."""
    lat1 = np.radians(origins[:, 0])[:, None]
    lon1 = np.radians(origins[:, 1])[:, None]
    lat2 = np.radians(targets[:, 0])[None, :]
    lon2 = np.radians(targets[:, 1])[None, :]
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(
        (lon2 - lon1) / 2
    ) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


class MatrixProvider(Protocol):
    """Source of travel matrices for a list of points."""

    def matrices(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(distance, duration)`` int64 matrices in metres and seconds."""
        ...


class HaversineProvider:
    """Straight-line distances stretched by a road factor, driven at a constant speed.

    Args:
        road_factor: Ratio of road distance to straight-line distance. 1.3 is a common
            estimate for urban road networks.
        speed_kmh: Average driving speed in km/h used to turn distance into time.

    """

    def __init__(self, road_factor: float = 1.3, speed_kmh: float = 30.0) -> None:
        if road_factor < 1.0:
            raise ValueError(f"road_factor is {road_factor}; pass a value >= 1.0")
        if speed_kmh <= 0:
            raise ValueError(f"speed_kmh is {speed_kmh}; pass a positive speed in km/h")
        self.road_factor = road_factor
        self.speed_kmh = speed_kmh

    def matrices(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(distance, duration)`` int64 matrices in metres and seconds."""
        pts = _as_points(points)
        n = len(pts)
        distance = np.empty((n, n), dtype=np.int64)
        duration = np.empty((n, n), dtype=np.int64)
        # Row blocks keep the float temporaries small: a whole 5,000-point matrix
        # would need several 200 MB float arrays at once.
        for first in range(0, n, _BLOCK_ROWS):
            block = slice(first, min(n, first + _BLOCK_ROWS))
            metres = _haversine_rows(pts[block], pts) * self.road_factor
            distance[block] = np.rint(metres)
            duration[block] = np.rint(metres / (self.speed_kmh / 3.6))
        return distance, duration


class OsrmProvider:
    """Road distances and times from an OSRM server's table service.

    Args:
        base_url: Server root, for example ``http://localhost:5000``.
        timeout: Seconds to wait for the HTTP response.
        profile: OSRM profile name in the URL.

    """

    def __init__(self, base_url: str, timeout: float = 30.0, profile: str = "driving") -> None:
        parsed = urllib.parse.urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(
                f"OSRM URL {base_url!r} is invalid; pass an http(s) URL such as "
                f"http://localhost:5000"
            )
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.profile = profile

    def matrices(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(distance, duration)`` int64 matrices in metres and seconds.

        Raises:
            RuntimeError: The server cannot be reached, times out, or returns an error
                or a matrix with missing entries.

        """
        pts = _as_points(points)
        coords = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in pts)
        url = (
            f"{self.base_url}/table/v1/{self.profile}/{coords}"
            f"?annotations=distance,duration"
        )
        logger.info("requesting OSRM table for %d points from %s", len(pts), self.base_url)
        try:
            # The URL scheme is checked in __init__ to be http or https.
            with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310
                body = json.load(response)
        except (urllib.error.URLError, TimeoutError, OSError, json.JSONDecodeError) as exc:
            logger.error("OSRM table request to %s failed: %s", self.base_url, exc)
            raise RuntimeError(
                f"OSRM table request to {self.base_url} failed: {exc}; check that the "
                f"server is running or unset the OSRM URL to use straight-line distances"
            ) from exc

        if body.get("code") != "Ok":
            raise RuntimeError(
                f"OSRM at {self.base_url} returned code {body.get('code')!r}: "
                f"{body.get('message', 'no message')}"
            )
        distance = _osrm_matrix(body, "distances", len(pts))
        duration = _osrm_matrix(body, "durations", len(pts))
        return distance, duration


def provider_from_settings(
    osrm_url: str | None, road_factor: float = 1.3, speed_kmh: float = 30.0
) -> MatrixProvider:
    """Return an OSRM provider when a URL is set, else a haversine provider."""
    if osrm_url:
        return OsrmProvider(osrm_url)
    return HaversineProvider(road_factor=road_factor, speed_kmh=speed_kmh)


def _as_points(points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points have shape {pts.shape}; pass an (n, 2) array of lat, lon")
    if np.any(np.abs(pts[:, 0]) > 90) or np.any(np.abs(pts[:, 1]) > 180):
        raise ValueError(
            "points contain a latitude outside [-90, 90] or a longitude outside "
            "[-180, 180]; pass (lat, lon) in degrees, latitude first"
        )
    return pts


def _osrm_matrix(body: dict, key: str, n: int) -> np.ndarray:
    rows = body.get(key)
    if rows is None:
        raise RuntimeError(f"OSRM response has no {key!r}; the server must support annotations")
    matrix = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)
    if matrix.shape != (n, n):
        raise RuntimeError(f"OSRM returned {key} of shape {matrix.shape}, expected ({n}, {n})")
    if np.isnan(matrix).any():
        i, j = np.argwhere(np.isnan(matrix))[0]
        raise RuntimeError(
            f"OSRM found no route from point {i} to point {j}; check that both points are "
            f"near a road in the loaded map"
        )
    return np.rint(matrix).astype(np.int64)
