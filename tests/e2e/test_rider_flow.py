"""A rider on a phone-sized page works a route to the end while the dispatch board watches.

Two browser contexts share one server: the rider (375x812, geolocation granted) and a
dispatcher on the board. The route has three stops: one delivered with a signature and the
confirmation code, one delivered with a photo during a stretch offline that includes a
reload of the page, and one failed as "recipient absent". The rider's updates must show on
the board without a reload, and updates made offline must be queued on the phone and reach
the board once it is back online.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from distro.backbone import accounts, pod
from distro.backbone.models import ConfirmationCode, Delivery, Event, Plan, ProofFile, Route, Shift
from distro.formatting import local_clock
from distro.settings import get_settings
from tests.rider_world import DISPATCHER, build_rider_world

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "rider-flow-password-1"
SCREENSHOTS = Path(os.environ.get("DISTRO_E2E_SCREENSHOTS", tempfile.gettempdir()))
BOARD_TIMEOUT_MS = 3000
"""How long the board may take to show a rider's update (the poll runs every 0.5 s)."""
REPLAY_TIMEOUT_MS = 20_000
"""How long the phone may take to send its queue after it is back online (it retries every 5 s)."""
CAMERA_MAKE = "Distro Test Camera"
FIRST_ETA = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0)
"""Two hours ahead, so the board never flags the first stop as late during the test."""
PHONE_TIMEZONE = "Pacific/Auckland"
"""The rider's phone zone (UTC+13 in December), so a conversion on the phone would show."""

WORLD: dict[str, object] = {}


def load(engine: Engine) -> None:
    """Publish one route of three stops for today, and add a rider and a dispatcher user.

    The first stop requires a signature and the code, the second a photo, and the third
    keeps the default policy.
    """
    world = build_rider_world(engine, riders=1, stops_per_route=3)
    today = date.today()
    with Session(engine) as session:
        for model in (Delivery, Route, Shift, Plan):
            for row in session.exec(select(model)):
                row.day = today
                session.add(row)
        first = session.get(Delivery, world.stops[0][0])
        first.eta = FIRST_ETA
        first.window_start_min = 7 * 60
        first.window_end_min = 9 * 60 + 30
        session.add(first)
        pod.set_policy(session, DISPATCHER, world.stops[0][0], {"signature", "code"})
        pod.set_policy(session, DISPATCHER, world.stops[0][1], {"photo"})
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


def camera_jpeg() -> bytes:
    """Return a small JPEG with an EXIF camera make, as a phone camera would tag it."""
    image = Image.new("RGB", (320, 240), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = CAMERA_MAKE
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85, exif=exif.tobytes())
    return buffer.getvalue()


def event_types(engine: Engine, delivery_id: int) -> list[str]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Event.event_type)
                .where(Event.entity == "delivery", Event.entity_id == delivery_id)
                .order_by(col(Event.id))
            )
        )


def wait_service_worker(page) -> None:
    """Wait until the rider page's service worker is active, so the shell is cached."""
    page.wait_for_function(
        "navigator.serviceWorker.getRegistration('/rider').then((r) => !!(r && r.active))",
        timeout=20_000,
    )


def test_rider_works_route_board_follows(browser, rider_app):
    """Deliver with signature and code, deliver with a photo offline, fail one stop."""
    first, second, third = WORLD["stops"]
    photo = camera_jpeg()
    lat, lon = -22.9056 + 0.02, -47.0608 - 0.015
    rider_context = browser.new_context(
        viewport={"width": 375, "height": 812},
        geolocation={"latitude": lat, "longitude": lon},
        permissions=["geolocation"],
        is_mobile=True,
        has_touch=True,
        timezone_id=PHONE_TIMEZONE,
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
        page_width = rider.evaluate("document.documentElement.scrollWidth")
        button_height = (
            stop_card(rider, first)
            .locator("[data-action='out_for_delivery']")
            .bounding_box()["height"]
        )
        sign_out_height = rider.locator("#rider-sign-out").bounding_box()["height"]
        first_meta = stop_card(rider, first).locator(".rider-meta").inner_text()
        navigate_links = stop_card(rider, first).locator(".rider-links a").all_inner_texts()

        # First stop, online: signature and the code the recipient reads out.
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

        # Second stop, offline, with a reload in the middle: the service worker serves the
        # page, the list comes from localStorage and the queue from IndexedDB.
        wait_service_worker(rider)
        rider_context.set_offline(True)
        stop_card(rider, second).locator("[data-action='out_for_delivery']").click()
        wait_card_status(rider, second, "out_for_delivery")
        stop_card(rider, second).locator("[data-action='arrived']").click()
        wait_card_status(rider, second, "arrived")
        rider.wait_for_selector("#rider-netbar[data-online='no']", timeout=10_000)
        waiting_before_reload = int(rider.get_attribute("#rider-netbar", "data-waiting"))

        rider.reload(wait_until="domcontentloaded")
        wait_card_status(rider, second, "arrived", timeout=30_000)
        rider.wait_for_selector("#rider-netbar[data-online='no']", timeout=10_000)
        controlled = rider.evaluate("navigator.serviceWorker.controller !== null")
        waiting_after_reload = int(rider.get_attribute("#rider-netbar", "data-waiting"))
        delivered_after_reload = stop_card(rider, first).get_attribute("data-status")
        rider.screenshot(path=str(SCREENSHOTS / "distro-rider-offline.png"), full_page=True)

        stop_card(rider, second).locator("[data-action='deliver']").click()
        rider.set_input_files(
            f"#photo-{second}",
            files=[{"name": "goods.jpg", "mimeType": "image/jpeg", "buffer": photo}],
        )
        rider.locator(f"#deliver-panel-{second} [data-action='confirm-delivery']").click()
        wait_card_status(rider, second, "delivered")
        rider.wait_for_selector("#rider-netbar[data-waiting='4']", timeout=10_000)
        with Session(rider_app.engine) as session:
            status_while_offline = session.get(Delivery, second).status

        rider_context.set_offline(False)
        rider.wait_for_selector("#rider-netbar[data-waiting='0']", timeout=REPLAY_TIMEOUT_MS)
        board.wait_for_selector(
            f".board-update[data-delivery-id='{second}'][data-status='delivered']",
            timeout=10_000,
        )

        # Third stop, online: the recipient is absent, so the rule reschedules it.
        stop_card(rider, third).locator("[data-action='out_for_delivery']").click()
        wait_card_status(rider, third, "out_for_delivery")
        wait_board_update(board, third, "out_for_delivery")
        stop_card(rider, third).locator("[data-action='fail']").click()
        rider.select_option(f"#reason-{third}", "recipient_absent")
        rider.locator(f"#fail-panel-{third} [data-action='confirm-failure']").click()
        seen_failed = wait_board_update(board, third, "failed")
        wait_board_update(board, third, "pending")
        rider.wait_for_selector("#rider-netbar[data-waiting='0']", timeout=REPLAY_TIMEOUT_MS)
        # The failure rule takes the stop off the route; the list keeps it as a record.
        wait_card_status(rider, third, "failed", timeout=REPLAY_TIMEOUT_MS)
        failed_outcome = stop_card(rider, third).locator("[data-testid='outcome']").inner_text()
        failed_buttons = stop_card(rider, third).locator("button, a").count()
        first_proof = stop_card(rider, first).locator("[data-testid='proof']").inner_text()
        second_proof = stop_card(rider, second).locator("[data-testid='proof']").inner_text()
        progress = rider.locator("#rider-progress").inner_text()
        rider.screenshot(path=str(SCREENSHOTS / "distro-rider-done.png"), full_page=True)

        with Session(rider_app.engine) as session:
            delivered = session.get(Delivery, first)
            photographed = session.get(Delivery, second)
            failed = session.get(Delivery, third)
            photo_rows = session.exec(
                select(ProofFile).where(ProofFile.delivery_id == second, ProofFile.kind == "photo")
            ).all()
    finally:
        rider_context.close()
        board_context.close()

    assert page_width <= 375
    assert button_height >= 48
    assert sign_out_height >= 48
    assert seen_out < BOARD_TIMEOUT_MS / 1000
    assert seen_delivered < BOARD_TIMEOUT_MS / 1000
    assert seen_failed < BOARD_TIMEOUT_MS / 1000
    assert delivered.status == "delivered"

    assert waiting_before_reload == 2
    assert controlled
    assert waiting_after_reload == 2
    assert delivered_after_reload == "delivered"
    assert status_while_offline == "assigned"
    assert photographed.status == "delivered"

    assert first_meta.startswith(f"ETA {local_clock(FIRST_ETA)} · window 07:00\u201309:30")
    assert navigate_links.count("Navigate") == 1
    assert "Maps" not in navigate_links
    assert failed_outcome == (
        f"Failed — Recipient absent (rescheduled for {failed.day:%a} {failed.day.day} "
        f"{failed.day:%b})"
    )
    assert failed_buttons == 0
    assert first_proof == "Proof: signature, code"
    assert second_proof == "Proof: photo"
    assert progress == "3 of 3 done"

    assert failed.status == "pending"
    assert failed.failure_reason == "recipient_absent"
    assert failed.day == date.today() + timedelta(days=1)
    assert failed.attempt == 2
    assert failed.route_id is None

    assert len(photo_rows) == 1
    stored = photo_rows[0]
    shared_bytes = (get_settings().private_dir / stored.shared_path).read_bytes()
    assert stored.sha256 == hashlib.sha256(photo).hexdigest()
    assert stored.media_type == "image/jpeg"
    assert stored.shared_sha256 != stored.sha256
    assert hashlib.sha256(shared_bytes).hexdigest() == stored.shared_sha256
    assert 0x010F not in Image.open(io.BytesIO(shared_bytes)).getexif()

    first_events = event_types(rider_app.engine, first)
    assert "delivery_code_verified" in first_events
    assert "delivery_proof_stored" in first_events
    assert first_events[-1] == "delivery_delivered"
    assert event_types(rider_app.engine, second)[-4:] == [
        "delivery_out_for_delivery",
        "delivery_arrived",
        "delivery_proof_stored",
        "delivery_delivered",
    ]
    assert event_types(rider_app.engine, third)[-3:] == [
        "delivery_out_for_delivery",
        "delivery_failed",
        "delivery_rescheduled",
    ]
