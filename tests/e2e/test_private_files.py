"""Uploaded proof-of-delivery files stay private on the served app: no public path reaches them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from distro.backbone import accounts
from tests.api.test_rider_api import JPEG
from tests.auth.conftest import PASSWORD, build_people, place_tenant_orders

TOKENS: dict[str, str] = {}
TENANCY = []


@pytest.fixture(scope="module")
def private_app(start_app):
    def load(engine: Engine) -> None:
        people = build_people(engine)
        TENANCY.append(place_tenant_orders(engine, people))
        with Session(engine) as session:
            TOKENS["rider0"] = accounts.sign_in(session, "rider0", PASSWORD, "127.0.0.1")[1]

    return start_app(load)


def fetch(url: str) -> tuple[int, bytes]:
    """Return the status and body of a GET request."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.browser
def test_proof_file_not_served_publicly(private_app):
    delivery_id = TENANCY[0].delivery_ids[0]
    request = urllib.request.Request(
        f"{private_app.base_url}/api/v1/deliveries/{delivery_id}/proof",
        data=JPEG,
        method="PUT",
        headers={"Authorization": f"Bearer {TOKENS['rider0']}", "Content-Type": "image/jpeg"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        stored = json.load(response)
    relative = f"pod/{delivery_id}/{stored['sha256']}.jpg"

    for prefix in ("/_upload/", "/assets/", "/api/v1/"):
        status, _ = fetch(private_app.base_url + prefix + relative)
        assert status == 404, prefix
    # The frontend may answer unknown paths with its HTML 404 page; never with the file.
    _, body = fetch(private_app.base_url + "/" + relative)
    assert JPEG[:64] not in body
