"""Tracking and dispute routes: an order on its way, its proof files, its dispute record (HTML)."""

from __future__ import annotations

import base64
import html
import json
from typing import Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response

from distro.api.auth import ActorDep, SessionDep
from distro.api.errors import AUTH_RESPONSES, NOT_FOUND_RESPONSE
from distro.backbone import dispute, pod, tracking
from distro.formatting import local_clock, status_label

router = APIRouter(tags=["tracking"], responses=AUTH_RESPONSES)

# The dispute page embeds its images and styles, and runs no script.
DISPUTE_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@router.get("/orders/{order_id}/tracking", responses=NOT_FOUND_RESPONSE)
def order_tracking(
    actor: ActorDep, session: SessionDep, order_id: int = Path(ge=1, le=2**31 - 1)
) -> dict[str, Any]:
    """Return an order's deliveries with ETA, rider position and, for the recipient, the code."""
    return tracking.order_tracking(session, actor, order_id)


@router.get(
    "/proofs/{proof_id}",
    responses={
        200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}},
        **NOT_FOUND_RESPONSE,
    },
)
def proof_image(
    actor: ActorDep, session: SessionDep, proof_id: int = Path(ge=1, le=2**31 - 1)
) -> Response:
    """Return a proof image: the original for operations, the copy without metadata for others."""
    row, content = pod.read_proof_file(session, actor, proof_id)
    return Response(
        content,
        media_type=row.media_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


@router.get(
    "/orders/{order_id}/dispute.html",
    response_class=HTMLResponse,
    responses=NOT_FOUND_RESPONSE,
)
def dispute_page(
    actor: ActorDep,
    session: SessionDep,
    order_id: int = Path(ge=1, le=2**31 - 1),
    download: bool = Query(default=False, description="Send as a file to save."),
) -> HTMLResponse:
    """Return the order's dispute record (timeline and proof) as a self-contained HTML page."""
    record = dispute.order_dispute(session, actor, order_id)
    headers = {"Content-Security-Policy": DISPUTE_CSP, "Cache-Control": "private, no-store"}
    if download:
        headers["Content-Disposition"] = (
            f'attachment; filename="dispute-{record.order.number}.html"'
        )
    return HTMLResponse(render_dispute(record), headers=headers)


PAGE_STYLE = """
body { font: 14px/1.5 system-ui, sans-serif; color: #111827; margin: 24px; max-width: 960px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid #e5e7eb;
padding: 4px 8px; text-align: left; vertical-align: top; } th { background: #f3f4f6; }
code { font-size: 12px; word-break: break-all; } .muted { color: #6b7280; }
figure { display: inline-block; margin: 0 16px 16px 0; } img { max-width: 420px;
border: 1px solid #d1d5db; }
"""


def _cell(value: object) -> str:
    return f"<td>{html.escape('' if value is None else str(value))}</td>"


def render_dispute(record: dispute.DisputeRecord) -> str:
    """Render a dispute record as a complete HTML document with its images inline."""
    order = record.order
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Dispute record: order {html.escape(order.number)}</title>",
        f"<style>{PAGE_STYLE}</style></head><body>",
        f"<h1>Order {html.escape(order.number)}: {html.escape(status_label(order.status))}</h1>",
        f"<p class='muted'>Generated "
        f"{html.escape(record.generated_at.isoformat(timespec='seconds'))} "
        f"for {html.escape(record.generated_for)}. Times are UTC.</p>",
        "<h2>Contents</h2><table><tr><th>SKU</th><th>Product</th><th>Quantity</th></tr>",
    ]
    parts += [f"<tr>{_cell(sku)}{_cell(name)}{_cell(qty)}</tr>" for sku, name, qty in record.lines]
    parts.append(
        "</table><h2>Deliveries</h2><table><tr><th>Delivery</th><th>Day</th>"
        "<th>Status</th><th>Attempt</th><th>Address</th><th>ETA</th><th>Failure</th></tr>"
    )
    parts += [
        f"<tr>{_cell(d.id)}{_cell(d.day)}{_cell(status_label(d.status))}{_cell(d.attempt)}"
        f"{_cell(d.address)}{_cell(local_clock(d.eta))}{_cell(d.failure_reason)}</tr>"
        for d in record.deliveries
    ]
    parts.append(
        "</table><h2>Timeline</h2><table><tr><th>When (UTC)</th><th>Who</th>"
        "<th>What</th><th>Change</th><th>Details</th></tr>"
    )
    for entry in record.timeline:
        change = f"{entry.from_state or ''} → {entry.to_state}" if entry.to_state else ""
        details = json.dumps(entry.details, sort_keys=True, default=str) if entry.details else ""
        parts.append(
            f"<tr>{_cell(entry.at.isoformat(timespec='seconds'))}"
            f"{_cell(f'{entry.actor} ({entry.role})')}"
            f"{_cell(f'{entry.event_type} · {entry.entity} {entry.entity_id}')}"
            f"{_cell(change)}<td><code>{html.escape(details)}</code></td></tr>"
        )
    parts.append("</table><h2>Proof of delivery</h2>")
    if not record.proofs:
        parts.append("<p class='muted'>No signature or photo was recorded.</p>")
    for proof in record.proofs:
        row = proof.row
        caption = (
            f"{row.kind} · delivery {row.delivery_id} · attempt {row.attempt} · by "
            f"{row.uploaded_by} at {row.uploaded_at.isoformat(timespec='seconds')}"
        )
        image = (
            f"<img alt='{html.escape(row.kind)}' src='data:{row.media_type};base64,"
            f"{base64.b64encode(proof.content).decode()}'>"
            if proof.content
            else "<p class='muted'>The file is missing from storage.</p>"
        )
        parts.append(
            f"<figure>{image}<figcaption>{html.escape(caption)}<br>"
            f"<span class='muted'>SHA-256 of the original: <code>{row.sha256}</code></span>"
            "</figcaption></figure>"
        )
    parts.append("</body></html>")
    return "".join(parts)
