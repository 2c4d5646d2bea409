"""The dispatch board's live panel (exceptions and recent rider updates) and its poll timer."""

from __future__ import annotations

import reflex as rx

from distro.components.badges import status_badge
from distro.components.layout import panel
from distro.state.board_live import (
    EXCEPTIONS_PAGE_SIZE,
    POLL_INTERVAL_MS,
    BoardLiveState,
    ExceptionRow,
    UpdateRow,
)

TICK_BUTTON_ID = "board-live-tick"

# Clicks the hidden button that runs the poll handler, while the tab is visible and no
# earlier poll is still waiting for its answer. Reflex runs a client's events one at a time,
# so skipped ticks never pile up behind a slow one.
TICKER_JS = f"""
(function () {{
  if (window.__distroBoardTicker) return;
  window.__distroBoardTicker = setInterval(function () {{
    if (document.hidden) return;
    var button = document.getElementById("{TICK_BUTTON_ID}");
    if (button) button.click();
  }}, {POLL_INTERVAL_MS});
}})();
"""

SEVERITY_COLORS = (("high", "red"), ("medium", "amber"), "gray")


def live_ticker() -> rx.Component:
    """Render the hidden button and the timer that polls the board for changes."""
    return rx.fragment(
        rx.el.button(
            on_click=BoardLiveState.poll_live,
            id=TICK_BUTTON_ID,
            type="button",
            style={"display": "none"},
            aria_hidden="true",
        ),
        rx.script(TICKER_JS),
    )


def exception_row(item: ExceptionRow) -> rx.Component:
    """Render one exception: its kind, what happened and when."""
    return rx.hstack(
        rx.badge(item.kind, color_scheme=rx.match(item.severity, *SEVERITY_COLORS), size="1"),
        rx.vstack(
            rx.text(item.title, size="2", weight="medium"),
            rx.text(item.detail, size="1", color_scheme="gray"),
            spacing="0",
            min_width="0",
        ),
        rx.spacer(),
        rx.text(item.at, size="1", color_scheme="gray"),
        align="start",
        spacing="2",
        width="100%",
        padding="4px 12px",
        class_name="board-exception",
        custom_attrs={"data-kind": item.kind, "data-delivery-id": item.delivery_id},
    )


def update_row(item: UpdateRow) -> rx.Component:
    """Render one recent status change reported by a rider (or applied by a failure rule)."""
    return rx.hstack(
        rx.text(item.at, size="1", color_scheme="gray", width="40px"),
        rx.text(item.label, size="2", max_width="190px", truncate=True),
        status_badge(item.status, item.status_text),
        rx.spacer(),
        rx.text(item.actor, size="1", color_scheme="gray"),
        align="center",
        spacing="2",
        width="100%",
        padding="2px 12px",
        class_name="board-update",
        custom_attrs={"data-delivery-id": item.delivery_id, "data-status": item.status},
    )


def live_panel() -> rx.Component:
    """Render the exceptions to handle and the riders' latest updates on the open board."""
    return panel(
        rx.hstack(
            rx.text("Live", size="2", weight="bold"),
            rx.cond(
                BoardLiveState.exception_count > 0,
                rx.badge(BoardLiveState.exception_count, color_scheme="red", variant="soft"),
            ),
            rx.cond(
                BoardLiveState.exceptions_truncated,
                rx.text(
                    f"showing first {EXCEPTIONS_PAGE_SIZE}",
                    size="1",
                    color_scheme="gray",
                    id="exceptions-truncated",
                ),
            ),
            spacing="2",
            align="center",
        ),
        rx.cond(
            BoardLiveState.exception_count > 0,
            rx.vstack(
                rx.foreach(BoardLiveState.exceptions, exception_row), spacing="1", width="100%"
            ),
            rx.text("No exceptions.", size="2", color_scheme="gray", padding="6px 12px"),
        ),
        rx.cond(
            BoardLiveState.updates.length() > 0,
            rx.vstack(
                rx.text("Latest rider updates", size="1", weight="bold", padding="6px 12px 0"),
                rx.foreach(BoardLiveState.updates, update_row),
                spacing="1",
                width="100%",
                id="board-updates",
            ),
        ),
        live_ticker(),
        actions=rx.text(
            "checked ",
            BoardLiveState.live_checked_at,
            size="1",
            color_scheme="gray",
            id="live-checked",
        ),
    )
