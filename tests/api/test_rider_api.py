"""Rider sync (at most once, in order, never backwards) and proof-of-delivery uploads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from distro.backbone.models import Delivery
from distro.settings import reset_settings
from tests.api.conftest import ApiWorld
from tests.auth.conftest import Tenancy, place_tenant_orders
from tests.factories import DAY


def make_jpeg() -> bytes:
    """Return a small valid JPEG photo."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 120, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


JPEG = make_jpeg()


@pytest.fixture
def tenancy(world: ApiWorld) -> Tenancy:
    return place_tenant_orders(world.engine, world.people)


def sync(world: ApiWorld, events: list[dict], caller: str = "rider0"):
    return world.client.post(
        "/api/v1/rider/sync", json={"events": events}, headers=world.headers(caller)
    )


def status_of(world: ApiWorld, delivery_id: int) -> str:
    with Session(world.engine) as session:
        return session.get(Delivery, delivery_id).status


def test_sync_applies_in_order(world: ApiWorld, tenancy: Tenancy):
    stop = tenancy.delivery_ids[0]
    response = sync(
        world,
        [
            {"client_event_id": "a1", "delivery_id": stop, "status": "out_for_delivery"},
            {"client_event_id": "a2", "delivery_id": stop, "status": "arrived"},
        ],
    )
    assert response.status_code == 200, response.text
    assert [r["outcome"] for r in response.json()["results"]] == ["applied", "applied"]
    assert status_of(world, stop) == "arrived"


def test_sync_duplicate_returns_stored_result(world: ApiWorld, tenancy: Tenancy):
    stop = tenancy.delivery_ids[0]
    event = {"client_event_id": "b1", "delivery_id": stop, "status": "out_for_delivery"}
    first = sync(world, [event]).json()["results"][0]
    again = sync(world, [event]).json()["results"][0]
    assert first["outcome"] == "applied"
    assert again["outcome"] == "applied"
    assert again["duplicate"] is True
    assert first["duplicate"] is False


def test_sync_late_update_never_moves_back(world: ApiWorld, tenancy: Tenancy):
    stop = tenancy.delivery_ids[0]
    sync(
        world,
        [
            {"client_event_id": "c1", "delivery_id": stop, "status": "out_for_delivery"},
            {"client_event_id": "c2", "delivery_id": stop, "status": "arrived"},
        ],
    )
    late = sync(
        world, [{"client_event_id": "c0", "delivery_id": stop, "status": "out_for_delivery"}]
    ).json()
    assert late["results"][0]["outcome"] == "stale"
    assert late["results"][0]["status"] == "arrived"
    assert status_of(world, stop) == "arrived"


def test_sync_invalid_skip_rejected_others_applied(world: ApiWorld, tenancy: Tenancy):
    stop = tenancy.delivery_ids[0]
    results = sync(
        world,
        [
            {"client_event_id": "d1", "delivery_id": stop, "status": "delivered"},
            {"client_event_id": "d2", "delivery_id": stop, "status": "out_for_delivery"},
        ],
    ).json()["results"]
    assert results[0]["outcome"] == "rejected"
    assert results[0]["code"] == "INVALID_TRANSITION"
    assert results[1]["outcome"] == "applied"


def test_sync_same_id_other_rider_independent(world: ApiWorld, tenancy: Tenancy):
    mine = sync(
        world,
        [
            {
                "client_event_id": "same",
                "delivery_id": tenancy.delivery_ids[0],
                "status": "out_for_delivery",
            }
        ],
    )
    theirs = sync(
        world,
        [
            {
                "client_event_id": "same",
                "delivery_id": tenancy.delivery_ids[1],
                "status": "out_for_delivery",
            }
        ],
        caller="rider1",
    )
    assert mine.json()["results"][0]["outcome"] == "applied"
    assert theirs.json()["results"][0]["outcome"] == "applied"


def test_proof_upload_stored_privately(world: ApiWorld, tenancy: Tenancy, tmp_path):
    stop = tenancy.delivery_ids[0]
    response = world.client.put(
        f"/api/v1/deliveries/{stop}/proof",
        content=JPEG,
        headers={**world.headers("rider0"), "Content-Type": "image/jpeg"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["media_type"] == "image/jpeg"
    assert list((tmp_path / "private").rglob(f"{body['sha256']}*"))


def test_proof_upload_rejects_non_image(world: ApiWorld, tenancy: Tenancy):
    response = world.client.put(
        f"/api/v1/deliveries/{tenancy.delivery_ids[0]}/proof",
        content=b"<html>",
        headers=world.headers("rider0"),
    )
    assert response.status_code == 422
    assert response.json()["code"] in ("VALIDATION_ERROR", "UPLOAD_REJECTED")


def test_proof_upload_rejects_oversize(world: ApiWorld, tenancy: Tenancy, monkeypatch):
    from distro.settings import reset_settings

    monkeypatch.setenv("DISTRO_PROOF_MAX_BYTES", "100")
    reset_settings()
    response = world.client.put(
        f"/api/v1/deliveries/{tenancy.delivery_ids[0]}/proof",
        content=JPEG,
        headers=world.headers("rider0"),
    )
    assert response.status_code == 422
    assert "100" in response.json()["message"]


def test_shift_times_in_network_zone(world: ApiWorld, tenancy: Tenancy, monkeypatch):
    """The shift list sends the ETA and window as HH:MM in DISTRO_TIMEZONE."""
    stop = tenancy.delivery_ids[0]
    with Session(world.engine) as session:
        delivery = session.get(Delivery, stop)
        delivery.eta = datetime(2026, 12, 7, 7, 57, tzinfo=UTC)
        delivery.window_start_min = 7 * 60
        delivery.window_end_min = 9 * 60 + 30
        session.add(delivery)
        session.commit()
    monkeypatch.setenv("DISTRO_TIMEZONE", "Europe/Berlin")
    reset_settings()

    response = world.client.get(
        "/api/v1/rider/shift", params={"day": DAY.isoformat()}, headers=world.headers("rider0")
    )

    assert response.status_code == 200, response.text
    found = {item["delivery_id"]: item for item in response.json()["stops"]}
    assert found[stop]["eta_local"] == "08:57"
    assert found[stop]["window_start_local"] == "07:00"
    assert found[stop]["window_end_local"] == "09:30"
    assert found[stop]["eta"] == "2026-12-07T07:57:00+00:00"
