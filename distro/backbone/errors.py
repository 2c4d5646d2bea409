"""The error hierarchy of the backbone.

Every error carries a stable `code` that the API and the UI show, a message that says what
failed on which value and what to do, and `details` with the numbers involved.
"""

from __future__ import annotations

from typing import Any


class DistroError(Exception):
    """Root of every error the backbone raises on purpose."""

    code = "DISTRO_ERROR"
    http_status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """Return the error in the API's `{"code", "message", "details"}` shape."""
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationError(DistroError):
    """Input that breaks a rule; `details` names the field or line."""

    code = "VALIDATION_ERROR"
    http_status = 422


class NotFoundError(DistroError):
    """A referenced record does not exist (or is not visible to the caller)."""

    code = "NOT_FOUND"
    http_status = 404


class PermissionDeniedError(DistroError):
    """The caller's role or tenant does not allow the action."""

    code = "PERMISSION_DENIED"
    http_status = 403


class InsufficientStockError(DistroError):
    """Fewer units are available at the fulfilling location than requested."""

    code = "INSUFFICIENT_STOCK"
    http_status = 409


class CreditLimitExceededError(DistroError):
    """The order would raise the dealer's exposure above the credit limit."""

    code = "CREDIT_LIMIT_EXCEEDED"
    http_status = 409


class CapacityExceededError(DistroError):
    """A route would carry more than its vehicle's capacity."""

    code = "CAPACITY_EXCEEDED"
    http_status = 409


class InvalidTransitionError(DistroError):
    """A status change that the state machine does not allow from the current state."""

    code = "INVALID_TRANSITION"
    http_status = 409


class ConflictError(DistroError):
    """Someone else changed the record first; `details` carries the current state."""

    code = "CONFLICT"
    http_status = 409


class IdempotencyConflictError(DistroError):
    """An idempotency key was reused with a different request body."""

    code = "IDEMPOTENCY_KEY_REUSED"
    http_status = 422


class ImportFileError(DistroError):
    """An import file has bad rows; `details["rows"]` lists each row number and reason."""

    code = "IMPORT_INVALID"
    http_status = 422


class AuthenticationError(DistroError):
    """Sign-in failed, or a session or API token is missing, expired or revoked."""

    code = "INVALID_CREDENTIALS"
    http_status = 401


class RateLimitedError(DistroError):
    """Too many failed sign-in attempts; `details["retry_after_s"]` says when to try again."""

    code = "RATE_LIMITED"
    http_status = 429


class ProofRequiredError(DistroError):
    """A delivery cannot be completed because proof that its policy requires is missing."""

    code = "PROOF_REQUIRED"
    http_status = 409


class ConfirmationCodeError(DistroError):
    """A confirmation code was wrong or is locked after too many wrong tries."""

    code = "CONFIRMATION_CODE_INVALID"
    http_status = 409


class UploadRejectedError(ValidationError):
    """An uploaded proof file is empty, too large, not an accepted image, or badly named."""

    code = "UPLOAD_REJECTED"
    http_status = 422
