"""One row per request (or short sequence of requests) replayed, printed as a table."""

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TextIO


class Verdict(Enum):
    HELD = "held"
    FAILED = "FAILED"
    NOT_RUN = "not run"  # the answer column says why


@dataclass(frozen=True)
class Row:
    finding: str  # the security review's number and a few words (issue 12)
    request: str
    expected: str
    answer: str
    verdict: Verdict


def check(finding: str, request: str, expected: str, answer: str, held: bool) -> Row:
    return Row(finding, request, expected, answer, Verdict.HELD if held else Verdict.FAILED)


def not_run(finding: str, request: str, expected: str, why: str) -> Row:
    return Row(finding, request, expected, why, Verdict.NOT_RUN)


COLUMNS = (("Finding", 16), ("Request", 40), ("Expected answer", 36), ("Answer", 40), ("Verdict", 7))


def print_table(rows: Iterable[Row], out: TextIO) -> None:
    def line(cells: list[list[str]]) -> None:
        for depth in range(max(len(cell) for cell in cells)):
            parts = [
                (cell[depth] if depth < len(cell) else "").ljust(width)
                for cell, (_, width) in zip(cells, COLUMNS, strict=True)
            ]
            out.write(" | ".join(parts).rstrip() + "\n")

    line([[title] for title, _ in COLUMNS])
    out.write("-+-".join("-" * width for _, width in COLUMNS) + "\n")
    for row in rows:
        texts = (row.finding, row.request, row.expected, row.answer, row.verdict.value)
        line([textwrap.wrap(text, width) or [""] for text, (_, width) in zip(texts, COLUMNS, strict=True)])
        out.write("\n")
