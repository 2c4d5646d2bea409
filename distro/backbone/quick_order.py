"""Turning typed, pasted or uploaded order lines into SKUs and quantities.

Pure functions with no database: the caller passes the dealer's catalog as `CatalogEntry`
values. A line such as "SKU-104 20", "20 x cola 0.33 L can" or "Orange juice 1 L - 5 packs"
becomes a query and a quantity. The query is matched to a SKU exactly, or else by fuzzy matching
against the product names with RapidFuzz. A fuzzy match is `certain` only when it scores high and
clearly beats the runner-up; otherwise the dealer confirms it from `candidates`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

MAX_LINES = 200
"""Lines read from one paste or file; the rest are ignored and reported."""

CERTAIN_SCORE = 90.0
"""Minimum `name_score` (0-100) for a fuzzy match that needs no confirmation."""

CERTAIN_MARGIN = 8.0
"""Points by which a certain match must beat the best match for another product."""

CANDIDATE_SCORE = 55.0
"""Minimum score for a product to be offered as a candidate at all."""

CANDIDATES = 3
"""Candidates offered for an uncertain line."""

COUNT_WORDS = (
    "x|pcs|pc|units?|un|bags?|boxes|box|cartons?|ctns?|packs?|cases?|rolls?|tins?|cans?|"
    "buckets?|drums?|sacks?|pieces?|nos?|qty"
)
"""Words that may follow or precede a quantity without being part of the product name."""

TIMES = "\u00d7"
"""The multiplication sign, which chat messages use between a quantity and a product."""

_CHAT_PREFIX = re.compile(r"^\s*\[[^\]]{4,40}\]\s*[^:]{1,60}:\s*")
"""A WhatsApp export prefix such as "[12/03/2025, 10:15] Ana Souza: "."""

_BULLET = re.compile(r"^\s*(?:[-*•·]+|\d{1,3}[.)])\s+")

_TRAILING_QUANTITY = re.compile(
    rf"^(?P<query>.*?)[\s:=,;*{TIMES}x-]*\s(?:(?:{COUNT_WORDS})\.?\s*)?(?P<quantity>\d{{1,6}})"
    rf"\s*(?:(?:{COUNT_WORDS})\.?)?\s*$",
    re.IGNORECASE,
)
_LEADING_QUANTITY = re.compile(
    rf"^(?P<quantity>\d{{1,6}})\s*(?:(?:{COUNT_WORDS}|of)\.?\s+|{TIMES}\s*|\s)(?:of\s+)?(?P<query>.+)$",
    re.IGNORECASE,
)

_SKU_SHAPE = re.compile(r"[^A-Z0-9]")

_WORD = re.compile(r"[^\W\d_]{3,}")
"""A word of three or more letters, the unit compared with product names to spot chat lines."""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A product the dealer may order: the fields the matcher compares."""

    sku: str
    name: str


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """One input line split into what names the product and how many."""

    line_number: int
    text: str
    query: str
    quantity: int | None
    """None when the line names no quantity; the dealer must add one."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A product that may be what a line means, with its match score (0-100)."""

    sku: str
    name: str
    score: float


@dataclass(frozen=True, slots=True)
class MatchedLine:
    """A parsed line with the product it was matched to, if any."""

    line_number: int
    text: str
    query: str
    quantity: int | None
    sku: str | None
    """The best match; None when nothing scored above `CANDIDATE_SCORE`."""
    name: str
    score: float
    certain: bool
    """True for an exact SKU or a clear fuzzy match; False means the dealer must confirm."""
    candidates: tuple[Candidate, ...] = ()


def clean_line(text: str) -> str:
    """Strip a chat export prefix, a bullet or list number and surrounding space from a line."""
    text = _CHAT_PREFIX.sub("", text)
    text = _BULLET.sub("", text)
    return text.strip().strip(".,;")


def parse_line(line_number: int, text: str) -> ParsedLine | None:
    """Split one line into a product query and a quantity; None for a blank line.

    A quantity at the end wins over one at the start, so "Cement 50kg x 20" is 20 of
    "Cement 50kg". A number glued to a unit, such as "50kg" or "4L", is part of the name.
    """
    cleaned = clean_line(text)
    if not cleaned:
        return None

    for pattern in (_TRAILING_QUANTITY, _LEADING_QUANTITY):
        match = pattern.match(cleaned)
        if match and match.group("query").strip(f" -:=,;x*{TIMES}"):
            query = match.group("query").strip(f" -:=,;*{TIMES}")
            return ParsedLine(line_number, text.strip(), query, int(match.group("quantity")))
    return ParsedLine(line_number, text.strip(), cleaned, None)


def parse_text(text: str) -> list[ParsedLine]:
    """Parse pasted text, one order line per line, up to `MAX_LINES` lines."""
    parsed = []
    for number, raw in enumerate(text.splitlines()[:MAX_LINES], start=1):
        line = parse_line(number, raw)
        if line is not None:
            parsed.append(line)
    return parsed


def parse_csv(text: str) -> list[ParsedLine]:
    """Parse a CSV of order lines: a SKU or product column and a quantity column.

    The header is optional. Recognised headers are sku/code/product/name/item/description
    and quantity/qty/units/amount; without a header the first column is the product and
    the last numeric column the quantity. Comma, semicolon and tab delimiters are detected.
    """
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [
        row for row in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in row)
    ]
    if not rows:
        return []

    header = [cell.strip().lower() for cell in rows[0]]
    product_column = _find_column(header, ("sku", "code", "product", "name", "item", "description"))
    quantity_column = _find_column(header, ("quantity", "qty", "units", "amount", "count"))
    has_header = product_column is not None or quantity_column is not None
    body = rows[1:] if has_header else rows

    parsed = []
    for offset, row in enumerate(body[:MAX_LINES], start=2 if has_header else 1):
        cells = [cell.strip() for cell in row]
        product = (
            cells[product_column]
            if product_column is not None and product_column < len(cells)
            else cells[0]
        )
        quantity_text = (
            cells[quantity_column]
            if quantity_column is not None and quantity_column < len(cells)
            else next((cell for cell in reversed(cells[1:]) if cell.isdigit()), "")
        )
        quantity = int(quantity_text) if quantity_text.isdigit() else None
        if not product:
            continue
        parsed.append(ParsedLine(offset, ",".join(cells), product, quantity))
    return parsed


def _find_column(header: Sequence[str], names: Iterable[str]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def normalize_sku(text: str) -> str:
    """Return a SKU with case, spaces and punctuation removed, so "sku 104" matches "SKU-104"."""
    return _SKU_SHAPE.sub("", text.upper())


def name_score(query: str, name: str, *, score_cutoff: float | None = None, **_: object) -> float:
    """Score how well a query names a product, 0-100.

    The mean of RapidFuzz's WRatio and token-set ratio: the token-set ratio rewards a query
    whose words all appear in the name ("cement 50kg" in "Cement CP-II 50kg bag"), and WRatio
    keeps word order and typos in play.
    """
    score = (fuzz.WRatio(query, name) + fuzz.token_set_ratio(query, name)) / 2
    if score_cutoff is not None and score < score_cutoff:
        return 0.0
    return score


def match_query(
    query: str, catalog: Sequence[CatalogEntry]
) -> tuple[Candidate | None, bool, tuple[Candidate, ...]]:
    """Find the product a query names.

    Returns:
        The best candidate (or None), whether it is certain, and up to `CANDIDATES`
        candidates, best first.
    """
    by_sku = {normalize_sku(entry.sku): entry for entry in catalog}
    exact = by_sku.get(normalize_sku(query))
    if exact is not None:
        best = Candidate(exact.sku, exact.name, 100.0)
        return best, True, (best,)

    choices = {index: entry.name for index, entry in enumerate(catalog)}
    results = process.extract(
        query,
        choices,
        scorer=name_score,
        processor=utils.default_process,
        limit=CANDIDATES,
        score_cutoff=CANDIDATE_SCORE,
    )
    candidates = tuple(
        Candidate(catalog[index].sku, catalog[index].name, round(score, 1))
        for _, score, index in results
    )
    if not candidates:
        return None, False, ()
    best = candidates[0]
    runner_up = candidates[1].score if len(candidates) > 1 else 0.0
    certain = best.score >= CERTAIN_SCORE and best.score - runner_up >= CERTAIN_MARGIN
    return best, certain, candidates


def is_chat_line(line: ParsedLine, catalog_words: set[str]) -> bool:
    """Return whether a line looks like conversation ("Hi", "thanks") rather than an order line.

    Such a line has no quantity, no digit (so no SKU or size) and no word of three or more
    letters that occurs in a product name of the catalog.
    """
    if line.quantity is not None or any(char.isdigit() for char in line.query):
        return False
    return not any(word.lower() in catalog_words for word in _WORD.findall(line.query))


def match_lines(lines: Sequence[ParsedLine], catalog: Sequence[CatalogEntry]) -> list[MatchedLine]:
    """Match each parsed line to a product of `catalog`.

    Chat lines (see `is_chat_line`) are left out unless they still match a product with a
    certain score, so greetings in a pasted chat are not reported as unknown products.
    """
    catalog_words = {word.lower() for entry in catalog for word in _WORD.findall(entry.name)}
    matched = []
    for line in lines:
        best, certain, candidates = match_query(line.query, catalog)
        if is_chat_line(line, catalog_words) and (best is None or best.score < CERTAIN_SCORE):
            continue
        matched.append(
            MatchedLine(
                line_number=line.line_number,
                text=line.text,
                query=line.query,
                quantity=line.quantity,
                sku=best.sku if best else None,
                name=best.name if best else "",
                score=best.score if best else 0.0,
                certain=certain and line.quantity is not None,
                candidates=candidates,
            )
        )
    return matched
