"""Haversine distances and matrix providers, OSRM against a local fake server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest

from distro.routing.geo import (
    HaversineProvider,
    OsrmProvider,
    haversine_m,
    haversine_matrix,
    provider_from_settings,
)

POINTS = np.array([[-22.9, -43.2], [-22.95, -43.25], [-23.0, -43.1]])


def test_haversine_one_degree_latitude():
    """One degree of latitude is about 111.2 km."""
    assert haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(111_195, rel=1e-3)


def test_haversine_matrix_matches_scalar():
    """The matrix is symmetric with a zero diagonal and equals the scalar function."""
    matrix = haversine_matrix(POINTS)
    assert np.allclose(matrix, matrix.T)
    assert np.all(np.diag(matrix) == 0)
    assert matrix[0, 2] == pytest.approx(haversine_m(*POINTS[0], *POINTS[2]))


def test_haversine_provider_road_factor_and_speed():
    """Distance is scaled by the road factor and time follows the speed."""
    distance, duration = HaversineProvider(road_factor=1.5, speed_kmh=36).matrices(POINTS)
    straight = haversine_matrix(POINTS)
    assert distance.dtype == np.int64
    assert distance[0, 1] == round(straight[0, 1] * 1.5)
    assert duration[0, 1] == round(straight[0, 1] * 1.5 / 10)


def test_provider_rejects_swapped_coordinates():
    """A longitude passed as latitude is reported with the expected order."""
    with pytest.raises(ValueError, match="latitude first"):
        HaversineProvider().matrices(np.array([[-143.2, -22.9]]))


def test_provider_from_settings_picks_osrm_when_url_set():
    """An OSRM URL selects the OSRM provider, none selects haversine."""
    assert isinstance(provider_from_settings("http://127.0.0.1:5000"), OsrmProvider)
    assert isinstance(provider_from_settings(None), HaversineProvider)


class FakeOsrm(BaseHTTPRequestHandler):
    """Answers /table requests with fixed matrices, or an error for the path /fail."""

    requests: list[str] = []

    def do_GET(self):
        FakeOsrm.requests.append(self.path)
        if self.path.startswith("/fail"):
            body = {"code": "InvalidQuery", "message": "bad coordinates"}
        elif self.path.startswith("/gap"):
            body = {"code": "Ok", "distances": [[0, None], [5, 0]], "durations": [[0, 1], [1, 0]]}
        else:
            body = {
                "code": "Ok",
                "distances": [[0, 1200.4], [1190.6, 0]],
                "durations": [[0, 95.5], [101.2, 0]],
            }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def osrm_url():
    server = HTTPServer(("127.0.0.1", 0), FakeOsrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_osrm_table_parsed(osrm_url):
    """The table service is called with lon,lat pairs and its matrices are rounded."""
    distance, duration = OsrmProvider(osrm_url).matrices(POINTS[:2])
    assert distance.tolist() == [[0, 1200], [1191, 0]]
    assert duration.tolist() == [[0, 96], [101, 0]]
    assert FakeOsrm.requests[-1].startswith("/table/v1/driving/-43.200000,-22.900000;")
    assert "annotations=distance,duration" in FakeOsrm.requests[-1]


def test_osrm_error_code_raises(osrm_url):
    """An OSRM error code becomes a RuntimeError with the server's message."""
    with pytest.raises(RuntimeError, match="bad coordinates"):
        OsrmProvider(osrm_url + "/fail").matrices(POINTS[:2])


def test_osrm_missing_route_raises(osrm_url):
    """A null entry (no route between two points) names both points."""
    with pytest.raises(RuntimeError, match="no route from point 0 to point 1"):
        OsrmProvider(osrm_url + "/gap").matrices(POINTS[:2])


@pytest.mark.allow_error_log
def test_osrm_unreachable_raises():
    """A closed port raises RuntimeError that says how to fall back."""
    server = HTTPServer(("127.0.0.1", 0), FakeOsrm)
    port = server.server_address[1]
    server.server_close()
    with pytest.raises(RuntimeError, match="unset the OSRM URL"):
        OsrmProvider(f"http://127.0.0.1:{port}", timeout=2).matrices(POINTS[:2])


def test_osrm_rejects_non_http_url():
    """Only http and https URLs are accepted."""
    with pytest.raises(ValueError, match="file:///etc"):
        OsrmProvider("file:///etc")
