"""A rider on a phone-sized page delivers with signature and code while the dispatch board watches.

Two browser contexts share one server: the rider (375x812, geolocation granted) and a
dispatcher on the board. The rider's updates must show on the board without a reload, and
updates made offline must be queued on the phone and reach the board once it is back online.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from distro.backbone import accounts, pod
from distro.backbone.models import ConfirmationCode, Delivery, Plan, Route, Shift
from tests.rider_world import DISPATCHER, build_rider_world

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "rider-flow-password-1"
SCREENSHOTS = Path(os.environ.get("DISTRO_E2E_SCREENSHOTS", tempfile.gettempdir()))
BOARD_TIMEOUT_MS = 3000
"""How long the board may take to show a rider's update (the poll runs every 0.5 s)."""

WORLD: dict[str, object] = {}


def load(engine: Engine) -> None:
    """Publish one route of three stops for today, and add a rider and a dispatcher user."""
    world = build_rider_world(engine, riders=1, stops_per_route=3)
    today = date.today()
    with Session(engine) as session:
        for model in (Delivery, Route, Shift, Plan):
            for row in session.exec(select(model)):
                row.day = today
                session.add(row)
        pod.set_policy(session, DISPATCHER, world.stops[0][0], {"signature", "code"})
        accounts.create_user(
            session, "rider.one", PASSWORD, "rider", rider_id=world.network.rider_ids[0]
        )
        accounts.create_user(session, "dispatch.one", PASSWORD, "dispatcher")
        session.commit()
    WORLD["stops"] = world.stops[0]


@pytest.fixture(scope="module")
def rider_app(start_app):
    return start_app(load)


def sign_in(page, base_url: str, username: str, target: str) -> None:
    page.goto(f"{base_url}/login?next={target}")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"**{target}*", timeout=30_000)


def stop_card(page, delivery_id: int):
    return page.locator(f"article[data-delivery-id='{delivery_id}']")


def wait_card_status(page, delivery_id: int, status: str, timeout: int = 10_000) -> None:
    page.wait_for_selector(
        f"article[data-delivery-id='{delivery_id}'][data-status='{status}']", timeout=timeout
    )


def wait_board_update(board, delivery_id: int, status: str) -> float:
    """Wait until the board lists the update; return the seconds it took."""
    started = time.monotonic()
    board.wait_for_selector(
        f".board-update[data-delivery-id='{delivery_id}'][data-status='{status}']",
        timeout=BOARD_TIMEOUT_MS,
    )
    return time.monotonic() - started


def draw_signature(page, delivery_id: int) -> None:
    canvas = page.locator(f"#deliver-panel-{delivery_id} canvas")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 22, box["y"] + box["height"] / 2 + (-1) ** step * 25)
    page.mouse.up()


def test_rider_delivers_and_board_follows(browser, rider_app):
    """Deliver with signature and code, then work offline; the board shows each change."""
    first, second, _ = WORLD["stops"]
    lat, lon = -22.9056 + 0.02, -47.0608 - 0.015
    rider_context = browser.new_context(
        viewport={"width": 375, "height": 812},
        geolocation={"latitude": lat, "longitude": lon},
        permissions=["geolocation"],
        is_mobile=True,
        has_touch=True,
    )
    board_context = browser.new_context(viewport={"width": 1600, "height": 1000})
    rider = rider_context.new_page()
    board = board_context.new_page()
    try:
        sign_in(board, rider_app.base_url, "dispatch.one", "/dispatch")
        board.wait_for_selector("#live-checked", timeout=30_000)
        sign_in(rider, rider_app.base_url, "rider.one", "/rider")
        stop_card(rider, first).wait_for(timeout=30_000)

        rider.screenshot(path=str(SCREENSHOTS / "distro-rider-list.png"), full_page=True)
        assert rider.evaluate("document.documentElement.scrollWidth") <= 375
        height = (
            stop_card(rider, first)
            .locator("[data-action='out_for_delivery']")
            .bounding_box()["height"]
        )
        assert height >= 48

        stop_card(rider, first).locator("[data-action='out_for_delivery']").click()
        wait_card_status(rider, first, "out_for_delivery")
        seen_out = wait_board_update(board, first, "out_for_delivery")

        stop_card(rider, first).locator("[data-action='arrived']").click()
        wait_card_status(rider, first, "arrived")
        wait_board_update(board, first, "arrived")

        with Session(rider_app.engine) as session:
            row = session.exec(
                select(ConfirmationCode).where(ConfirmationCode.delivery_id == first)
            ).one()
            code = pod.derive_code(first, row.attempt, row.nonce)
        stop_card(rider, first).locator("[data-action='deliver']").click()
        draw_signature(rider, first)
        rider.fill(f"#code-{first}", code)
        rider.screenshot(path=str(SCREENSHOTS / "distro-rider-proof.png"), full_page=True)
        rider.locator(f"#deliver-panel-{first} [data-action='confirm-delivery']").click()
        wait_card_status(rider, first, "delivered", timeout=15_000)
        seen_delivered = wait_board_update(board, first, "delivered")

        rider_context.set_offline(True)
        stop_card(rider, second).locator("[data-action='out_for_delivery']").click()
        wait_card_status(rider, second, "out_for_delivery")
        stop_card(rider, second).locator("[data-action='arrived']").click()
        wait_card_status(rider, second, "arrived")
        rider.wait_for_selector("#rider-netbar[data-online='no']", timeout=10_000)
        waiting = int(rider.get_attribute("#rider-netbar", "data-waiting"))
        rider.screenshot(path=str(SCREENSHOTS / "distro-rider-offline.png"), full_page=True)
        with Session(rider_app.engine) as session:
            status_while_offline = session.get(Delivery, second).status

        rider_context.set_offline(False)
        rider.wait_for_selector("#rider-netbar[data-waiting='0']", timeout=20_000)
        board.wait_for_selector(
            f".board-update[data-delivery-id='{second}'][data-status='arrived']", timeout=10_000
        )
        with Session(rider_app.engine) as session:
            delivered = session.get(Delivery, first)
            replayed = session.get(Delivery, second)
    finally:
        rider_context.close()
        board_context.close()

    assert seen_out < BOARD_TIMEOUT_MS / 1000
    assert seen_delivered < BOARD_TIMEOUT_MS / 1000
    assert delivered.status == "delivered"
    assert waiting == 2
    assert status_while_offline == "assigned"
    assert replayed.status == "arrived"
