"""Reading submitted form fields as numbers, with messages that name the field and the fix.

A browser submits every field as text. These helpers turn that text into the numbers the
backbone takes, and raise ValidationError, which the app shows as a toast, for text that is
not a number. Range rules (negative, below 1) stay in the backbone.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from distro.backbone.errors import ValidationError


def form_text(form: dict, key: str) -> str:
    """Return the field `key` of a submitted form as stripped text ("" when absent)."""
    return str(form.get(key, "") or "").strip()


def form_int(form: dict, key: str, label: str, *, default: int | None = None) -> int:
    """Return the field `key` as a whole number; an empty field gives `default`.

    Raises:
        ValidationError: the text is not a whole number, or is empty with no default.
    """
    raw = form_text(form, key)
    if not raw and default is not None:
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise ValidationError(
            f"{label} {raw!r} is not a whole number; type digits only, such as 12.", field=key
        ) from error


def form_optional_id(form: dict, key: str, label: str) -> int | None:
    """Return the field `key` as a record id, or None when it is empty or "none".

    Raises:
        ValidationError: the text is not a whole number.
    """
    raw = form_text(form, key)
    if not raw or raw == "none":
        return None
    return form_int(form, key, label)


def form_decimal(form: dict, key: str, label: str, *, default: Decimal | None = None) -> Decimal:
    """Return the field `key` as a decimal number; a comma is read as the decimal point.

    Raises:
        ValidationError: the text is not a number, or is empty with no default.
    """
    raw = form_text(form, key).replace(",", ".")
    if not raw and default is not None:
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation as error:
        raise ValidationError(
            f"{label} {raw!r} is not a number; type it as 12.5.", field=key
        ) from error
    if not value.is_finite():
        raise ValidationError(f"{label} {raw!r} is not a number; type it as 12.5.", field=key)
    return value


def form_cents(form: dict, key: str, label: str, *, default: int | None = None) -> int:
    """Return a money field typed in currency units (such as 12.50) as whole cents.

    Raises:
        ValidationError: the text is not a number, has more than two decimals, or is empty
            with no default.
    """
    if not form_text(form, key) and default is not None:
        return default
    amount = form_decimal(form, key, label)
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValidationError(
            f"{label} {amount} has more than two decimals; round it to cents, such as 12.50.",
            field=key,
        )
    return int(cents)


def format_cents(cents: int | None) -> str:
    """Return cents as currency units with two decimals, or "" for None."""
    if cents is None:
        return ""
    return f"{cents / 100:.2f}"
