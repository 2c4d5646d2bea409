"""Placing and reading orders through the API: idempotency, tenant isolation, error format."""

from __future__ import annotations

from tests.api.conftest import ApiWorld
from tests.factories import DAY

ORDER = {"lines": [{"sku": "SKU-1", "quantity": 3}], "delivery_day": DAY.isoformat()}


def test_place_order_dealer_created(world: ApiWorld):
    response = world.client.post("/api/v1/orders", json=ORDER, headers=world.headers("dealer0"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["dealer_id"] == world.people.network.dealer_ids[0]
    assert body["total_cents"] == 3000
    assert body["status"] == "confirmed"


def test_place_order_same_key_same_body_same_order(world: ApiWorld):
    headers = {**world.headers("dealer0"), "Idempotency-Key": "po-123"}
    first = world.client.post("/api/v1/orders", json=ORDER, headers=headers)
    second = world.client.post("/api/v1/orders", json=ORDER, headers=headers)
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["order_id"] == first.json()["order_id"]


def test_place_order_same_key_other_body_rejected(world: ApiWorld):
    headers = {**world.headers("dealer0"), "Idempotency-Key": "po-124"}
    world.client.post("/api/v1/orders", json=ORDER, headers=headers)
    other = {**ORDER, "lines": [{"sku": "SKU-1", "quantity": 4}]}
    response = world.client.post("/api/v1/orders", json=other, headers=headers)
    assert response.status_code == 422
    assert response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_place_order_same_key_other_tenant_independent(world: ApiWorld):
    first = world.client.post(
        "/api/v1/orders", json=ORDER, headers={**world.headers("dealer0"), "Idempotency-Key": "k1"}
    )
    second = world.client.post(
        "/api/v1/orders", json=ORDER, headers={**world.headers("dealer1"), "Idempotency-Key": "k1"}
    )
    assert first.status_code == 201
    assert second.status_code == 201
    assert first.json()["order_id"] != second.json()["order_id"]


def test_place_order_customer_own_account(world: ApiWorld):
    response = world.client.post("/api/v1/orders", json=ORDER, headers=world.headers("customer0"))
    assert response.status_code in (201, 422), response.text
    if response.status_code == 201:
        assert response.json()["customer_id"] == world.people.customer_ids[0]


def test_place_order_without_token_401(world: ApiWorld):
    response = world.client.post("/api/v1/orders", json=ORDER)
    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_CREDENTIALS"
    assert set(response.json()) == {"code", "message", "details"}


def test_place_order_invalid_body_validation_error(world: ApiWorld):
    response = world.client.post(
        "/api/v1/orders", json={"lines": []}, headers=world.headers("dealer0")
    )
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_place_order_unknown_sku_error_shape(world: ApiWorld):
    body = {**ORDER, "lines": [{"sku": "NOPE", "quantity": 1}]}
    response = world.client.post("/api/v1/orders", json=body, headers=world.headers("dealer0"))
    assert response.status_code == 422
    assert response.json()["details"]["lines"][0]["rule"] == "unknown_sku"


def test_order_status_and_timeline(world: ApiWorld):
    order_id = world.client.post(
        "/api/v1/orders", json=ORDER, headers=world.headers("dealer0")
    ).json()["order_id"]
    detail = world.client.get(f"/api/v1/orders/{order_id}", headers=world.headers("dealer0"))
    timeline = world.client.get(
        f"/api/v1/orders/{order_id}/timeline", headers=world.headers("dealer0")
    )
    assert detail.status_code == 200
    assert detail.json()["lines"][0]["sku"] == "SKU-1"
    assert timeline.status_code == 200
    assert timeline.json()[0]["event_type"] == "order_placed"


def test_orders_list_scoped_to_dealer(world: ApiWorld):
    world.client.post("/api/v1/orders", json=ORDER, headers=world.headers("dealer0"))
    world.client.post("/api/v1/orders", json=ORDER, headers=world.headers("dealer1"))
    mine = world.client.get("/api/v1/orders", headers=world.headers("dealer0")).json()["orders"]
    everything = world.client.get("/api/v1/orders", headers=world.headers("dispatcher")).json()[
        "orders"
    ]
    assert {o["dealer_id"] for o in mine} == {world.people.network.dealer_ids[0]}
    assert len(everything) == 2


def test_catalog_dealer_prices(world: ApiWorld):
    response = world.client.get("/api/v1/catalog", headers=world.headers("dealer0"))
    assert response.status_code == 200
    assert {item["sku"]: item["unit_price_cents"] for item in response.json()}["SKU-1"] == 1000


def test_events_feed_scoped(world: ApiWorld):
    world.client.post("/api/v1/orders", json=ORDER, headers=world.headers("dealer0"))
    other = world.client.get("/api/v1/events", headers=world.headers("dealer1")).json()
    own = world.client.get("/api/v1/events", headers=world.headers("dealer0")).json()
    assert other["events"] == []
    assert any(e["event_type"] == "order_placed" for e in own["events"])
    assert own["cursor"] == own["events"][-1]["event_id"]


def test_unknown_path_error_shape(world: ApiWorld):
    response = world.client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
