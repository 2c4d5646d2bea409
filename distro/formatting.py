"""Display formats shared by the pages, the API and the backbone; plain Python, no UI imports."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from distro.settings import get_settings

STATUS_LABELS = {
    "out_for_delivery": "out for delivery",
    "credit_hold": "credit hold",
}


def status_label(status: str | None) -> str:
    """Return the words a user reads for a status value, for example "out for delivery"."""
    if not status:
        return ""
    return STATUS_LABELS.get(status, status.replace("_", " "))


def km(meters: int | float | None) -> str:
    """Format a distance in meters as kilometers with one decimal, for example "12.3"."""
    return f"{(meters or 0) / 1000:.1f}"


def hours_minutes(seconds: int | float | None) -> str:
    """Format a duration in seconds as h:mm, for example "3:05"."""
    total_minutes = round((seconds or 0) / 60)
    return f"{total_minutes // 60}:{total_minutes % 60:02d}"


def clock(minutes_after_midnight: int | None) -> str:
    """Format minutes after midnight as HH:MM; empty for None."""
    if minutes_after_midnight is None:
        return ""
    return f"{minutes_after_midnight // 60:02d}:{minutes_after_midnight % 60:02d}"


def time_window(start_min: int | None, end_min: int | None) -> str:
    """Format a delivery time window as "HH:MM-HH:MM"; empty when the stop has none."""
    if start_min is None and end_min is None:
        return ""
    return f"{clock(start_min) or '…'}-{clock(end_min) or '…'}"


def local_clock(moment: datetime | None) -> str:
    """Format a timestamp as HH:MM in the network's time zone (DISTRO_TIMEZONE).

    A naive timestamp is taken as UTC, which is how the database stores them.
    """
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(get_settings().timezone)).strftime("%H:%M")


def percent(part: int | float, whole: int | float) -> int:
    """Return `part` as a whole percentage of `whole`; 0 when `whole` is 0."""
    if not whole:
        return 0
    return round(100 * part / whole)


def money(cents: int | float | None) -> str:
    """Format cents as currency units with thousands separators, for example "1,234.50".

    The network has one currency, so no symbol is shown, as on the KPI and order pages.
    """
    value = round(cents or 0)
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value) / 100:,.2f}"


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """Write a count with its noun, singular for one: "1 drop", "3 drops", "1,200 stops"."""
    word = noun if number == 1 else (plural or f"{noun}s")
    return f"{number:,} {word}"
