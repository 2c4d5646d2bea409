"""Build the FastAPI app that Reflex mounts in front of its own routes."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from distro.api import (
    catalog,
    delivery_ops,
    dispatch,
    feeds,
    kpi_map,
    maps,
    orders,
    rider,
    rider_app,
    tracking,
)
from distro.api.errors import install_error_handlers
from distro.db import session_scope

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

health_router = APIRouter(tags=["health"])


@health_router.get("/health")
def health() -> JSONResponse:
    """Report whether the server runs and the database can run a query."""
    try:
        with session_scope() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        logger.exception("Health check failed: the database query failed")
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def create_api() -> FastAPI:
    """Create the API app with every router mounted under `API_PREFIX`.

    Reflex mounts its own app (pages, `/_event`, `/ping`, `/_upload`) behind this one, so
    every route here stays under `API_PREFIX` to never shadow them.
    """
    api = FastAPI(
        title="Distro API",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        # The interactive docs pages load their scripts from a CDN, and no page may.
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(api)

    api.include_router(health_router, prefix=API_PREFIX)
    for router in (catalog.router, orders.router, dispatch.router, rider.router, feeds.router):
        api.include_router(router, prefix=API_PREFIX)
    api.include_router(maps.router, prefix=API_PREFIX)
    api.include_router(kpi_map.router, prefix=API_PREFIX)
    for router in (rider_app.router, tracking.router, delivery_ops.router):
        api.include_router(router, prefix=API_PREFIX)

    # Map pages load Leaflet from here by a relative URL, so they work whether the API
    # shares its port with the frontend (production) or not (development).
    api.mount(
        f"{API_PREFIX}/maps/static",
        StaticFiles(directory=maps.VENDOR_DIR),
        name="map-static",
    )
    return api
