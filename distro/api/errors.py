"""One error format for every API response: `{"code", "message", "details"}`.

Codes are stable: DistroError subclasses bring their own (`INSUFFICIENT_STOCK`,
`INVALID_CREDENTIALS`, ...), request validation is `VALIDATION_ERROR`, and HTTP errors raised
by the framework (unknown path, wrong method) use the upper-case HTTP reason (`NOT_FOUND`,
`METHOD_NOT_ALLOWED`).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from distro.backbone.errors import DistroError, RateLimitedError

logger = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """The body of every error response."""

    code: str = Field(description="Stable machine-readable error code, such as NOT_FOUND.")
    message: str = Field(description="What failed, on which value, and what to do.")
    details: dict[str, Any] = Field(default_factory=dict, description="The values involved.")


def _doc(description: str) -> dict[str, Any]:
    # Errors are JSON even on routes whose success response is HTML or an image; FastAPI would
    # otherwise document the error under the route's own media type only.
    return {
        "model": ErrorBody,
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _doc("No token, or an invalid, revoked or expired one (INVALID_CREDENTIALS)."),
    403: _doc("The caller's role or tenant does not allow this (PERMISSION_DENIED)."),
    422: _doc("The request is malformed or breaks a rule (VALIDATION_ERROR and others)."),
}
"""Error responses every authenticated route can return."""

NOT_FOUND_RESPONSE: dict[int | str, dict[str, Any]] = {
    404: _doc("The record does not exist (NOT_FOUND).")
}
CONFLICT_RESPONSE: dict[int | str, dict[str, Any]] = {
    409: _doc(
        "Stock, credit, capacity or state does not allow the change (INSUFFICIENT_STOCK, ...)."
    ),
}


async def _distro_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DistroError)
    headers = None
    if isinstance(exc, RateLimitedError):
        headers = {"Retry-After": str(exc.details.get("retry_after_s", 60))}
    elif exc.http_status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse(
        jsonable_encoder(exc.to_dict()), status_code=exc.http_status, headers=headers
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(
        exc.errors(), custom_encoder={Exception: str, bytes: lambda b: f"<{len(b)} bytes>"}
    )
    first = errors[0] if errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = (
        f"Invalid request: {where}: {first.get('msg', 'invalid value')}"
        if first
        else "Invalid request."
    )
    return JSONResponse(
        {"code": "VALIDATION_ERROR", "message": message, "details": {"errors": errors}},
        status_code=422,
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    try:
        code = HTTPStatus(exc.status_code).name
    except ValueError:
        code = f"HTTP_{exc.status_code}"
    return JSONResponse(
        {"code": code, "message": str(exc.detail), "details": {}},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {
            "code": "INTERNAL_ERROR",
            "message": "The server failed to handle the request; it was logged.",
            "details": {},
        },
        status_code=500,
    )


def install_error_handlers(api: FastAPI) -> None:
    """Make every error leave the API in the `ErrorBody` shape."""
    api.add_exception_handler(DistroError, _distro_error)
    api.add_exception_handler(RequestValidationError, _validation_error)
    api.add_exception_handler(StarletteHTTPException, _http_error)
    api.add_exception_handler(Exception, _unexpected_error)
