"""The dispatch map: a Leaflet page built with folium from the board snapshot.

The page loads Leaflet from this server (`VENDOR_DIR`) and draws the depot, every stop and
every route line as vector layers, so it is complete without a tile server. Tiles come from
DISTRO_TILE_URL when it is set and the tile server responds to the browser.
"""

from __future__ import annotations

import html
import logging
from datetime import date
from typing import Annotated

import folium
from branca.element import MacroElement
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from jinja2 import Template

from distro.api.auth import actor_with
from distro.api.errors import AUTH_RESPONSES, NOT_FOUND_RESPONSE
from distro.backbone import day_board, tracking
from distro.backbone import fulfillment as ff
from distro.backbone.actors import Actor
from distro.backbone.models import Role
from distro.db import session_scope
from distro.formatting import hours_minutes, km, local_clock, money, status_label, time_window
from distro.settings import REPO_ROOT, get_settings

logger = logging.getLogger(__name__)

VENDOR_DIR = REPO_ROOT / "assets" / "vendor"
"""Third-party browser files served under /api/v1/maps/static."""

# Relative to /api/v1/maps/<page>, so the URL survives a reverse proxy's path prefix.
STATIC_URL = "static"

UNROUTED_COLOR = "#6b7280"
DEPOT_COLOR = "#111827"

# Circle style of a stop for each delivery status: border colour, border weight, fill opacity
# and dash pattern. The fill colour is always the route's colour.
STOP_STYLES: dict[str, tuple[str, int, float, str | None]] = {
    "pending": ("#374151", 1, 0.55, "2 2"),
    "planned": ("#ffffff", 1, 0.9, None),
    "assigned": ("#111827", 2, 0.9, None),
    "out_for_delivery": ("#111827", 2, 0.9, None),
    "arrived": ("#111827", 3, 0.9, None),
    "delivered": ("#ffffff", 1, 0.3, None),
    "failed": ("#dc2626", 3, 0.9, None),
    "cancelled": ("#6b7280", 1, 0.0, "2 2"),
}
DEFAULT_STOP_STYLE = ("#ffffff", 1, 0.9, None)

LEGEND_HTML = """
<div class="distro-legend">
  <div><span class="swatch" style="background:#111827"></span>depot</div>
  <div><span class="swatch" style="background:#6b7280"></span>not on a route</div>
  <div><span class="line dashed"></span>draft route</div>
  <div><span class="line"></span>published route</div>
  <div><span class="swatch ring-dark"></span>assigned / on the way</div>
  <div><span class="swatch faded"></span>delivered</div>
  <div><span class="swatch ring-red"></span>failed</div>
</div>
"""

PAGE_CSS = """
<style>
  .leaflet-container { background: #eef1f4; font: 12px/1.4 system-ui, sans-serif; }
  .distro-legend { position: absolute; bottom: 24px; right: 10px; z-index: 1000;
    background: rgba(255,255,255,.92); border: 1px solid #d1d5db; border-radius: 6px;
    padding: 6px 8px; font: 11px/1.6 system-ui, sans-serif; color: #1f2937; }
  .distro-legend .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%;
    margin-right: 6px; vertical-align: -1px; background: #2563eb; }
  .distro-legend .ring-dark { box-shadow: 0 0 0 2px #111827 inset; }
  .distro-legend .ring-red { box-shadow: 0 0 0 2px #dc2626 inset; }
  .distro-legend .faded { opacity: .35; }
  .distro-legend .line { display: inline-block; width: 18px; margin-right: 6px;
    border-top: 3px solid #2563eb; vertical-align: 3px; }
  .distro-legend .dashed { border-top-style: dashed; }
  .distro-popup td { padding: 0 6px 0 0; vertical-align: top; }
  .distro-popup td:first-child { color: #6b7280; }
  .distro-popup b { font-size: 13px; }
</style>
"""

router = APIRouter(prefix="/maps", tags=["maps"])


class BoundContent(MacroElement):
    """A popup or tooltip bound to its parent layer with Leaflet's `bindPopup` or `bindTooltip`.

    folium's `Popup` parses its HTML with jQuery, which the map page does not load, and its
    `Tooltip` puts the text into a JavaScript template literal, where a backtick or `${` in
    imported data would break the script. Here the HTML goes in as a JSON string, whose
    escaping of `<`, `>` and `&` also keeps it from closing the script element.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this._parent.get_name() }}.{{ this.method }}("
        "{{ this.html|tojson }}, {{ this.options|tojson }});"
        "{% endmacro %}"
    )

    def __init__(self, method: str, html: str, **options: object) -> None:
        super().__init__()
        self._name = "BoundContent"
        self.method = method
        self.html = html
        self.options = options


class FitBounds(MacroElement):
    """Set the map's view to a bounding box at once, with no zoom animation.

    folium's `fit_bounds` animates from the initial zoom, so a screenshot or a quick look can
    catch the map half zoomed.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this._parent.get_name() }}.fitBounds("
        "{{ this.bounds|tojson }}, {{ this.options|tojson }});"
        "{% endmacro %}"
    )

    def __init__(self, bounds: list[list[float]], padding: int) -> None:
        super().__init__()
        self._name = "FitBounds"
        self.bounds = bounds
        self.options = {"padding": [padding, padding], "animate": False}


def popup(html_text: str, max_width: int = 300) -> BoundContent:
    """Return a popup with `html_text`, which the caller has escaped."""
    return BoundContent("bindPopup", html_text, maxWidth=max_width)


def tooltip(text: str) -> BoundContent:
    """Return a tooltip showing plain `text`."""
    return BoundContent("bindTooltip", html.escape(text), sticky=True)


@router.get(
    "/dispatch",
    # Errors are JSON; declaring the HTML page only for 200 keeps the document true for both.
    responses={
        200: {
            "content": {"text/html": {"schema": {"type": "string"}}},
            "description": "The map page.",
        },
        **AUTH_RESPONSES,
        **NOT_FOUND_RESPONSE,
    },
)
def dispatch_map(
    _actor: Annotated[Actor, Depends(actor_with(Role.DISPATCHER, Role.MANAGER, Role.ADMIN))],
    day: date,
    depot_id: int | None = Query(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="Depot to show; omitted: every depot with stops on the day.",
    ),
    route_id: int | None = Query(
        default=None, ge=1, le=2**31 - 1, description="Route to highlight and zoom to."
    ),
    v: str | None = Query(default=None, description="Cache-busting version; ignored."),
) -> HTMLResponse:
    """Return the dispatch map of one depot and day, or of all depots of the day, as an HTML page.

    The board's iframe loads it with the browser's session cookie (see `distro.api.auth`).
    """
    del v
    with session_scope() as session:
        if depot_id is None:
            snapshot = day_board.day_snapshot(session, day)
        else:
            snapshot = ff.board_snapshot(session, day, depot_id)
        riders = [
            rider
            for depot in snapshot.depots
            for rider in tracking.last_positions(session, day, depot.depot_id)
        ]

    settings = get_settings()
    page = build_dispatch_map_html(
        snapshot,
        tile_url=settings.tile_url,
        tile_attribution=settings.tile_attribution,
        focus_route_id=route_id,
        riders=riders,
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


def build_dispatch_map_html(
    snapshot: ff.BoardSnapshot,
    *,
    tile_url: str = "",
    tile_attribution: str = "",
    focus_route_id: int | None = None,
    static_url: str = STATIC_URL,
    riders: list[tracking.RiderLocation] | None = None,
) -> str:
    """Render the board snapshot as a Leaflet page.

    Args:
        snapshot: The depot, stops and routes to draw.
        tile_url: XYZ tile URL template; empty draws the map on a plain background.
        tile_attribution: Attribution text for the tile server.
        focus_route_id: Route to draw on top and zoom to; the other routes are faded.
        static_url: URL prefix under which `VENDOR_DIR` is served.
        riders: Riders' last positions, drawn in their route's colour with a yellow ring.

    Returns:
        A complete HTML document.

    """
    fmap = folium.Map(
        location=[snapshot.depot_lat, snapshot.depot_lon],
        tiles=None,
        zoom_start=12,
        control_scale=True,
        # Quarter zoom steps let fitBounds fill the frame instead of leaving up to half of it empty.
        zoom_snap=0.25,
    )
    # folium's defaults load Leaflet, jQuery, Bootstrap and Font Awesome from CDNs. Circle
    # markers, lines, popups and tooltips need only Leaflet, which this server provides.
    fmap.default_js = [("leaflet", f"{static_url}/leaflet/leaflet.js")]
    fmap.default_css = [("leaflet_css", f"{static_url}/leaflet/leaflet.css")]
    fmap.get_root().header.add_child(folium.Element(PAGE_CSS))
    fmap.get_root().html.add_child(folium.Element(LEGEND_HTML))

    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution or " ", max_zoom=19).add_to(fmap)

    _add_routes(fmap, snapshot, focus_route_id)
    _add_stops(fmap, snapshot, focus_route_id)
    _add_depot(fmap, snapshot)
    _add_riders(fmap, riders or [])
    _fit_bounds(fmap, snapshot, focus_route_id)
    return fmap.get_root().render()


def _add_routes(fmap: folium.Map, snapshot: ff.BoardSnapshot, focus_route_id: int | None) -> None:
    for route in snapshot.routes:
        if len(route.path) < 2:
            continue
        faded = focus_route_id is not None and route.route_id != focus_route_id
        line = folium.PolyLine(
            locations=[list(point) for point in route.path],
            color=route.color,
            weight=5 if route.route_id == focus_route_id else 3,
            opacity=0.2 if faded else 0.85,
            dash_array=None if route.status == "published" else "8 6",
            class_name="distro-route",
        ).add_to(fmap)
        line.add_child(
            tooltip(
                f"{route.rider_name or 'No rider'} · {route.vehicle_code} · "
                f"{route.stop_count} stops · {km(route.distance_m)} km · "
                f"{hours_minutes(route.duration_s)} · {money(route.cost_cents)} · "
                f"{status_label(route.status)}"
            )
        )


def _add_stops(fmap: folium.Map, snapshot: ff.BoardSnapshot, focus_route_id: int | None) -> None:
    # NOTE: each stop adds about 1.3 kB of HTML and one SVG element (measured on loggibud rj-0:
    # 287 kB for 221 stops). Boards of several thousand stops would need a GeoJSON layer or
    # Leaflet's canvas renderer instead.
    routes = {route.route_id: route for route in snapshot.routes}
    for stop in snapshot.stops:
        route = routes.get(stop.route_id) if stop.route_id is not None else None
        fill = route.color if route else UNROUTED_COLOR
        # A stop on a draft route keeps the status "pending" until the plan is published.
        style_key = "planned" if stop.status == "pending" and route is not None else stop.status
        border, weight, fill_opacity, dash = STOP_STYLES.get(style_key, DEFAULT_STOP_STYLE)
        if focus_route_id is not None and stop.route_id != focus_route_id:
            fill_opacity = min(fill_opacity, 0.25)

        marker = folium.CircleMarker(
            location=[stop.latitude, stop.longitude],
            radius=6,
            color=border,
            weight=weight,
            dash_array=dash,
            fill=True,
            fill_color=fill,
            fill_opacity=fill_opacity,
            class_name="distro-stop",
        ).add_to(fmap)
        marker.add_child(tooltip(stop.label or f"Delivery {stop.delivery_id}"))
        marker.add_child(popup(_stop_popup(stop, route)))


def _stop_popup(stop: ff.BoardStop, route: ff.BoardRoute | None) -> str:
    rows = [
        ("Delivery", str(stop.delivery_id)),
        ("Order", stop.order_number or ""),
        ("Address", stop.address),
        ("Status", status_label(stop.status)),
        ("Demand", f"{stop.demand_kg} kg · {stop.demand_units} units"),
        ("Window", time_window(stop.window_start_min, stop.window_end_min)),
        ("ETA", local_clock(stop.eta)),
    ]
    if route is not None:
        rows.append(
            (
                "Route",
                f"{route.rider_name or 'No rider'} · {route.vehicle_code} · stop {stop.sequence}",
            )
        )
    else:
        rows.append(("Route", "not on a route"))

    cells = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td></tr>"
        for name, value in rows
        if value
    )
    title = html.escape(stop.label or f"Delivery {stop.delivery_id}")
    return f'<div class="distro-popup"><b>{title}</b><table>{cells}</table></div>'


def _add_riders(fmap: folium.Map, riders: list[tracking.RiderLocation]) -> None:
    # Circle markers need only Leaflet; folium's polygon markers would load a plugin from a CDN.
    for rider in riders:
        marker = folium.CircleMarker(
            location=[rider.lat, rider.lon],
            radius=10,
            color="#facc15",
            weight=4,
            fill=True,
            fill_color=rider.color,
            fill_opacity=1.0,
            class_name="distro-rider",
        ).add_to(fmap)
        marker.add_child(tooltip(f"{rider.rider_name} · last seen {local_clock(rider.at)}"))


def _add_depot(fmap: folium.Map, snapshot: ff.BoardSnapshot) -> None:
    depots = snapshot.depots or (
        ff.BoardDepot(
            snapshot.depot_id, "", snapshot.depot_name, snapshot.depot_lat, snapshot.depot_lon
        ),
    )
    for depot in depots:
        marker = folium.CircleMarker(
            location=[depot.latitude, depot.longitude],
            radius=9,
            color="#ffffff",
            weight=3,
            fill=True,
            fill_color=DEPOT_COLOR,
            fill_opacity=1.0,
            class_name="distro-depot",
        ).add_to(fmap)
        marker.add_child(tooltip(f"Depot: {depot.name}"))
        marker.add_child(popup(f"<b>Depot</b><br>{html.escape(depot.name)}", max_width=240))


def _fit_bounds(fmap: folium.Map, snapshot: ff.BoardSnapshot, focus_route_id: int | None) -> None:
    points: list[tuple[float, float]] = [(snapshot.depot_lat, snapshot.depot_lon)]
    points.extend((depot.latitude, depot.longitude) for depot in snapshot.depots)
    focus = [route for route in snapshot.routes if route.route_id == focus_route_id]
    if focus:
        points.extend(focus[0].path)
    else:
        points.extend((stop.latitude, stop.longitude) for stop in snapshot.stops)

    latitudes = [point[0] for point in points]
    longitudes = [point[1] for point in points]
    if max(latitudes) - min(latitudes) < 1e-6 and max(longitudes) - min(longitudes) < 1e-6:
        return  # Only the depot: keep the initial zoom around it.
    fmap.add_child(
        FitBounds(
            [[min(latitudes), min(longitudes)], [max(latitudes), max(longitudes)]], padding=24
        )
    )
