"""The performance map of the KPI page: one circle per territory, built with folium.

Like the dispatch map, the page loads Leaflet from this server and draws its circles as
vector layers, so it is complete without a tile server. Each circle sits at the mean
position of the territory's dealers, its area grows with the orders placed and its colour
shows the on-time rate. The popup lists the same figures as the page's territory table.
"""

from __future__ import annotations

import html
import math
from datetime import date
from typing import Annotated

import folium
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from distro.api.auth import actor_with
from distro.api.errors import AUTH_RESPONSES
from distro.api.maps import STATIC_URL, FitBounds, popup, tooltip
from distro.backbone import kpis
from distro.backbone.actors import Actor
from distro.backbone.kpis import KpiFilter
from distro.backbone.models import Channel, Role
from distro.db import session_scope
from distro.settings import get_settings

router = APIRouter(prefix="/maps", tags=["maps"])

MIN_RADIUS_PX = 8
MAX_RADIUS_PX = 34
"""Radius of the territory with the most orders. The others scale with the square root of
their share, so that a circle's area follows its orders."""

NO_DATA_COLOR = "#9ca3af"
ON_TIME_BANDS = (
    (0.95, "#16a34a", "95 % or more"),
    (0.85, "#f59e0b", "85 to 95 %"),
    (0.0, "#dc2626", "below 85 %"),
)
"""Lowest on-time rate of each colour band, its colour and its legend text."""

# Centre of an empty map (no territory matches the filters): Campinas, the test depot.
DEFAULT_CENTRE = (-22.9056, -47.0608)

PAGE_CSS = """
<style>
  .leaflet-container { background: #eef1f4; font: 12px/1.4 system-ui, sans-serif; }
  .distro-legend { position: absolute; bottom: 24px; right: 10px; z-index: 1000;
    background: rgba(255,255,255,.92); border: 1px solid #d1d5db; border-radius: 6px;
    padding: 6px 8px; font: 11px/1.6 system-ui, sans-serif; color: #1f2937; }
  .distro-legend .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%;
    margin-right: 6px; vertical-align: -1px; }
  .distro-empty { position: absolute; top: 10px; left: 50px; z-index: 1000;
    background: rgba(255,255,255,.92); border: 1px solid #d1d5db; border-radius: 6px;
    padding: 6px 8px; font: 12px/1.4 system-ui, sans-serif; color: #374151; }
  .distro-popup td { padding: 0 8px 0 0; vertical-align: top; }
  .distro-popup td:first-child { color: #6b7280; }
  .distro-popup td:last-child { text-align: right; font-variant-numeric: tabular-nums; }
  .distro-popup b { font-size: 13px; }
</style>
"""


def _legend_html() -> str:
    bands = "".join(
        f'<div><span class="swatch" style="background:{color}"></span>on time {text}</div>'
        for _, color, text in ON_TIME_BANDS
    )
    return (
        '<div class="distro-legend"><div><b>Circle size: orders placed</b></div>'
        f"{bands}"
        f'<div><span class="swatch" style="background:{NO_DATA_COLOR}"></span>'
        "no delivery with a promise</div></div>"
    )


@router.get(
    "/kpis",
    responses={
        200: {
            "content": {"text/html": {"schema": {"type": "string"}}},
            "description": "The map page.",
        },
        **AUTH_RESPONSES,
    },
)
def kpi_map(
    _actor: Annotated[Actor, Depends(actor_with(Role.MANAGER, Role.ADMIN))],
    start: date,
    end: date,
    depot_id: int | None = Query(default=None, ge=1, le=2**31 - 1),
    territory: str | None = Query(default=None, max_length=80),
    dealer_id: int | None = Query(default=None, ge=1, le=2**31 - 1),
    rider_id: int | None = Query(default=None, ge=1, le=2**31 - 1),
    channel: Channel | None = None,
    v: str | None = Query(default=None, description="Cache-busting version; ignored."),
) -> HTMLResponse:
    """Return the territory performance map for a range of local days as an HTML page.

    The filters are those of the KPI page. The page's iframe loads the map with the
    browser's session cookie (see `distro.api.auth`).
    """
    del v
    flt = KpiFilter(
        start=start,
        end=end,
        depot_id=depot_id,
        territory=territory or None,
        dealer_id=dealer_id,
        rider_id=rider_id,
        channel=channel.value if channel else None,
    )
    kpis.check_range(flt)
    with session_scope() as session:
        rows = kpis.territory_performance(session, flt)

    settings = get_settings()
    page = build_kpi_map_html(
        rows, tile_url=settings.tile_url, tile_attribution=settings.tile_attribution
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


def on_time_color(rate: float | None) -> str:
    """Return the circle colour for an on-time rate (0..1), or grey when there is no rate."""
    if rate is None:
        return NO_DATA_COLOR
    for lowest, color, _ in ON_TIME_BANDS:
        if rate >= lowest:
            return color
    return ON_TIME_BANDS[-1][1]


def circle_radius(orders: int, max_orders: int) -> float:
    """Return the radius in pixels, so that the circle's area grows with the orders placed."""
    if max_orders <= 0:
        return MIN_RADIUS_PX
    return MIN_RADIUS_PX + (MAX_RADIUS_PX - MIN_RADIUS_PX) * math.sqrt(orders / max_orders)


def build_kpi_map_html(
    rows: list[kpis.Row],
    *,
    tile_url: str = "",
    tile_attribution: str = "",
    static_url: str = STATIC_URL,
) -> str:
    """Render one circle per territory row of `kpis.territory_performance` as a Leaflet page.

    Args:
        rows: Territories with their centre and figures.
        tile_url: XYZ tile URL template; empty draws the map on a plain background.
        tile_attribution: Attribution text for the tile server.
        static_url: URL prefix under which the Leaflet files are served.

    Returns:
        A complete HTML document.

    """
    centre = (rows[0]["latitude"], rows[0]["longitude"]) if rows else DEFAULT_CENTRE
    fmap = folium.Map(
        location=list(centre), tiles=None, zoom_start=10, control_scale=True, zoom_snap=0.25
    )
    # folium's defaults load several libraries from CDNs, but circles and popups need only
    # Leaflet, which this server provides.
    fmap.default_js = [("leaflet", f"{static_url}/leaflet/leaflet.js")]
    fmap.default_css = [("leaflet_css", f"{static_url}/leaflet/leaflet.css")]
    fmap.get_root().header.add_child(folium.Element(PAGE_CSS))
    fmap.get_root().html.add_child(folium.Element(_legend_html()))
    if not rows:
        fmap.get_root().html.add_child(
            folium.Element('<div class="distro-empty">No territory matches these filters.</div>')
        )

    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution or " ", max_zoom=19).add_to(fmap)

    max_orders = max((row["orders"] for row in rows), default=0)
    # Largest first, so that small territories stay clickable on top of large ones.
    for row in sorted(rows, key=lambda r: -r["orders"]):
        marker = folium.CircleMarker(
            location=[row["latitude"], row["longitude"]],
            radius=circle_radius(row["orders"], max_orders),
            color="#ffffff",
            weight=2,
            fill=True,
            fill_color=on_time_color(row["on_time_rate"]),
            fill_opacity=0.75,
            class_name="distro-territory",
        ).add_to(fmap)
        marker.add_child(
            tooltip(
                f"{row['territory']} · {row['orders']:,} orders · "
                f"on time {_percent(row['on_time_rate'])}"
            )
        )
        marker.add_child(popup(_territory_popup(row)))

    _fit_bounds(fmap, rows)
    return fmap.get_root().render()


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f} %"


def _territory_popup(row: kpis.Row) -> str:
    figures = [
        ("Orders placed", f"{row['orders']:,}"),
        ("Order value", f"{(row['value_cents'] or 0) / 100:,.2f}"),
        ("Attempts", f"{row['attempts']:,}"),
        ("Delivered", f"{row['delivered']:,}"),
        ("Failed", f"{row['failed']:,}"),
        ("On time", _percent(row["on_time_rate"])),
        ("First attempt", _percent(row["first_attempt_rate"])),
        ("Fill rate", _percent(row["fill_rate"])),
        ("Dealers", f"{row['dealers']:,}"),
    ]
    cells = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td></tr>"
        for name, value in figures
    )
    title = html.escape(row["territory"])
    return f'<div class="distro-popup"><b>{title}</b><table>{cells}</table></div>'


def _fit_bounds(fmap: folium.Map, rows: list[kpis.Row]) -> None:
    latitudes = [row["latitude"] for row in rows]
    longitudes = [row["longitude"] for row in rows]
    if len(rows) < 2 or (
        max(latitudes) - min(latitudes) < 1e-6 and max(longitudes) - min(longitudes) < 1e-6
    ):
        return  # With one place or none, the initial zoom around the centre is kept.
    # The padding keeps the largest circle inside the frame.
    fmap.add_child(
        FitBounds(
            [[min(latitudes), min(longitudes)], [max(latitudes), max(longitudes)]],
            padding=MAX_RADIUS_PX + 8,
        )
    )
