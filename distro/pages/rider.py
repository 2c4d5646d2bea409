"""The rider page, built for a phone: the shift's stops in driving order and their status flow.

The stop list is rendered by `assets/js/rider-app.js` from the API and from the browser's
cache, so it stays usable offline; this module provides the frame, the styles and the
script tag.
"""

from __future__ import annotations

import reflex as rx

from distro.components.map_frame import backend_origin
from distro.state.rider import RiderState

ROUTE = "/rider"

SCRIPT_URL = "/js/rider-app.js"

# High contrast and large touch targets: the page is read outdoors on a phone in one hand.
STYLE = """
.rider-page { background: #ffffff; color: #000000; min-height: 100vh;
  font: 18px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.rider-top { display: flex; align-items: center; gap: 12px; padding: 10px 14px;
  background: #000000; color: #ffffff; }
.rider-top h1 { font-size: 20px; margin: 0; flex: 1; }
.rider-top button { font-size: 16px; min-height: 48px; padding: 0 14px; background: #ffffff;
  color: #000000; border: 0; border-radius: 8px; font-weight: 700; }
.rider-netbar { padding: 8px 14px; font-weight: 700; font-size: 16px; }
.rider-netbar.online { background: #d1fae5; color: #064e3b; }
.rider-netbar.offline { background: #fde68a; color: #451a03; }
#rider-app { padding: 10px 12px 80px; max-width: 640px; margin: 0 auto; }
.rider-summary { margin: 4px 2px 12px; font-size: 16px; }
.rider-empty { font-size: 18px; padding: 24px 4px; }
.rider-stop { border: 3px solid #000000; border-radius: 12px; padding: 12px; margin-bottom: 14px; }
.rider-stop.status-delivered, .rider-stop.status-cancelled, .rider-stop.status-pending,
.rider-stop.status-failed { border-color: #6b7280; color: #374151; }
.rider-stop-head { display: flex; align-items: center; gap: 10px; }
.rider-seq { display: inline-flex; align-items: center; justify-content: center; min-width: 36px;
  height: 36px; border-radius: 50%; background: #000000; color: #ffffff; font-weight: 800; }
.rider-label { flex: 1; font-weight: 800; font-size: 19px; }
.rider-badge { font-size: 14px; font-weight: 800; padding: 4px 8px; border: 2px solid #000000;
  border-radius: 6px; white-space: nowrap; }
.status-delivered .rider-badge { background: #065f46; color: #ffffff; border-color: #065f46; }
.status-failed .rider-badge { background: #b91c1c; color: #ffffff; border-color: #b91c1c; }
.rider-address { margin: 8px 0 2px; font-weight: 600; }
.rider-meta { margin: 2px 0; font-size: 16px; }
.rider-lines { margin: 6px 0; padding-left: 20px; font-size: 16px; }
.rider-outcome { margin: 6px 0; font-weight: 800; color: #991b1b; }
.rider-proof { margin: 6px 0; font-size: 16px; font-weight: 700; color: #065f46; }
.rider-cash { font-weight: 800; font-size: 18px; margin: 6px 0; }
.rider-pending { font-size: 15px; font-weight: 700; color: #92400e; margin: 6px 0; }
.rider-error { color: #b91c1c; font-weight: 700; font-size: 16px; margin: 6px 0; }
.rider-error:empty { display: none; }
.rider-links, .rider-actions { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 10px; }
.rider-button { display: inline-flex; align-items: center; justify-content: center;
  min-height: 56px; min-width: 96px; padding: 0 18px; font-size: 18px; font-weight: 800;
  border-radius: 10px; border: 3px solid #000000; text-decoration: none; cursor: pointer;
  flex: 1 1 auto; }
.rider-button.primary { background: #000000; color: #ffffff; }
.rider-button.secondary { background: #ffffff; color: #000000; }
.rider-button.danger { background: #ffffff; color: #b91c1c; border-color: #b91c1c; }
.rider-panel { margin-top: 12px; padding-top: 10px; border-top: 2px dashed #000000; }
.rider-panel-title { font-weight: 800; margin: 0 0 8px; }
.rider-field { display: flex; flex-direction: column; gap: 6px; font-weight: 700;
  margin-bottom: 12px; }
.rider-input { font-size: 18px; min-height: 52px; padding: 8px 10px; border: 2px solid #000000;
  border-radius: 8px; background: #ffffff; color: #000000; }
/* Reflex's "cannot connect" toast would cover a stop card; the status bar already says the
   phone is offline, so the page hides notifications while it is. */
body:has(#rider-netbar[data-online='no']) section[aria-label^='Notifications'] { display: none; }
.rider-signature { width: 100%; height: 200px; border: 2px solid #000000; border-radius: 8px;
  touch-action: none; background: #ffffff; }
"""


def rider_page() -> rx.Component:
    """Render the rider page's frame; the stop list is filled in by the page's script."""
    return rx.el.div(
        rx.el.style(STYLE),
        rx.el.header(
            # Empty until the state loads, which never happens on a reload while offline.
            rx.el.h1(
                rx.cond(
                    RiderState.rider_name,
                    RiderState.rider_name + " · " + RiderState.day_label,
                    "Your stops",
                )
            ),
            rx.el.button(
                "Sign out", on_click=RiderState.sign_out, type="button", id="rider-sign-out"
            ),
            class_name="rider-top",
        ),
        rx.el.div("Starting…", id="rider-netbar", class_name="rider-netbar online", role="status"),
        # No children: the script owns this element's content, so React never reconciles it.
        rx.el.main(
            id="rider-app",
            custom_attrs={"data-api": backend_origin + "/api/v1"},
        ),
        rx.script(src=SCRIPT_URL),
        class_name="rider-page",
    )


def register(app: rx.App) -> None:
    """Add the rider page to `app`."""
    app.add_page(
        rider_page,
        route=ROUTE,
        title="Rider · Distro",
        on_load=RiderState.load_page,
    )
