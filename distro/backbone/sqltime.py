"""Time arithmetic in SQL that returns the same result on SQLite and PostgreSQL.

SQLite has no time zones and stores timestamps as UTC text, so local times are computed from
seconds since the Unix epoch plus the zone's UTC offset. The offset is a CASE over the zone's
offset changes (daylight saving) inside the queried range, found with `zoneinfo`, so both
databases apply the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

SECONDS_PER_DAY = 86_400
EPOCH_DAY = date(1970, 1, 1)


class epoch_seconds(FunctionElement):  # noqa: N801  (SQL function names are lower case)
    """Seconds since 1970-01-01 00:00 of a timestamp or a date, as a float.

    A timestamp with a time zone gives its UTC instant. A date gives its midnight read as
    if it were UTC, which is the "local" frame that `local_seconds` uses.
    """

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_default(element, compiler, **kw) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw) -> str:
    # julianday() parses SQLite's stored "YYYY-MM-DD HH:MM:SS.ffffff" text and plain dates.
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


class floor_int(FunctionElement):  # noqa: N801
    """The largest integer not above a number."""

    type = Integer()
    inherit_cache = True


@compiles(floor_int)
def _floor_default(element, compiler, **kw) -> str:
    return f"CAST(FLOOR({compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(floor_int, "sqlite")
def _floor_sqlite(element, compiler, **kw) -> str:
    # SQLite's FLOOR() exists only when built with the math functions; CAST truncates
    # towards zero, so negative fractions take one off.
    value = compiler.process(element.clauses, **kw)
    return f"(CAST({value} AS INTEGER) - (({value}) < CAST({value} AS INTEGER)))"


@dataclass(frozen=True, slots=True)
class LocalRange:
    """A range of local days [start, end] in one time zone, and its UTC bounds.

    `offsets` lists (until, offset): the zone is `offset` seconds ahead of UTC for epoch
    seconds below `until`; the last entry has no limit (`until` is None).
    """

    start: date
    end: date
    zone: str
    start_utc: datetime
    end_utc: datetime
    offsets: tuple[tuple[float | None, int], ...]


def local_midnight_utc(day: date, zone: ZoneInfo) -> datetime:
    """Return the UTC instant of midnight at the start of `day` in `zone`."""
    return datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(UTC)


def local_range(start: date, end: date, zone_name: str) -> LocalRange:
    """Describe the local days `start` to `end` (inclusive) in the zone `zone_name`.

    Raises:
        ValueError: `end` is before `start`, or the zone name is unknown.

    """
    if end < start:
        raise ValueError(f"The range ends on {end} before it starts on {start}; swap the dates.")
    zone = ZoneInfo(zone_name)
    start_utc = local_midnight_utc(start, zone)
    end_utc = local_midnight_utc(end + timedelta(days=1), zone)

    # Offsets are found two days beyond each end so that routes and shifts that cross
    # midnight near the range's edges convert correctly too.
    offsets = _offset_changes(start_utc - timedelta(days=2), end_utc + timedelta(days=2), zone)
    return LocalRange(start, end, zone_name, start_utc, end_utc, offsets)


def _offset_changes(
    first: datetime, last: datetime, zone: ZoneInfo
) -> tuple[tuple[float | None, int], ...]:
    def offset_at(moment: datetime) -> int:
        return int(moment.astimezone(zone).utcoffset().total_seconds())

    changes: list[tuple[float | None, int]] = []
    current = offset_at(first)
    step = timedelta(hours=1)
    moment = first
    while moment < last:
        following = moment + step
        offset = offset_at(following)
        if offset != current:
            # Bisect to the second at which the offset changes inside this hour.
            low, high = moment, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if offset_at(middle) == current:
                    low = middle
                else:
                    high = middle
            changes.append((high.timestamp(), current))
            current = offset
        moment = following
    changes.append((None, current))
    return tuple(changes)


def utc_offset_seconds(epoch: ColumnElement, span: LocalRange) -> ColumnElement:
    """Return the zone's UTC offset in seconds at the instant `epoch` (seconds since 1970)."""
    if len(span.offsets) == 1:
        return literal(span.offsets[0][1], Integer())
    whens = [(epoch < until, offset) for until, offset in span.offsets[:-1]]
    return case(*whens, else_=span.offsets[-1][1])


def local_seconds(timestamp: ColumnElement, span: LocalRange) -> ColumnElement:
    """Return a UTC timestamp as seconds since 1970 on the local wall clock of `span.zone`."""
    epoch = epoch_seconds(timestamp)
    return epoch + utc_offset_seconds(epoch, span)


def local_day_number(timestamp: ColumnElement, span: LocalRange) -> ColumnElement:
    """Return the local day of a UTC timestamp as days since 1970-01-01."""
    return floor_int(local_seconds(timestamp, span) / SECONDS_PER_DAY)


def date_day_number(day: ColumnElement) -> ColumnElement:
    """Return a date column as days since 1970-01-01."""
    return floor_int(epoch_seconds(day) / SECONDS_PER_DAY)


def day_from_number(number: int | float | None) -> date | None:
    """Turn a day number from `local_day_number` back into a date."""
    if number is None:
        return None
    return EPOCH_DAY + timedelta(days=int(number))


def seconds_between(earlier: ColumnElement, later: ColumnElement) -> ColumnElement:
    """Return `later - earlier` in seconds for two timestamp columns."""
    return epoch_seconds(later) - epoch_seconds(earlier)
