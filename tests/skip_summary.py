"""Ends the run with every skipped test counted by reason, so a suite that quietly covered less says so.

Tests skip where something they need is missing (Dovecot or root, Chromium, Redis...); under CI=true their
fixtures fail instead (provider_fixtures.skip_unavailable, e2e/conftest.py): this block changes no outcome.
"""

from collections import Counter, defaultdict
from collections.abc import Generator, Iterable

import pytest


def _reason(report: pytest.TestReport) -> str:
    # A skip's longrepr is (file, line, "Skipped: <reason>"), whether a mark, a test or a fixture skipped.
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


def skip_summary(reports: Iterable[pytest.TestReport]) -> list[str]:
    """The block's lines: how many tests skipped, then each reason (most skips first) and where."""
    by_reason: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for report in reports:
        by_reason[_reason(report)][report.nodeid.split("::")[0]] += 1
    total = sum(sum(files.values()) for files in by_reason.values())
    if not total:
        return []
    lines = [f"{total} test{'s' if total != 1 else ''} SKIPPED:"]
    for reason, files in sorted(by_reason.items(), key=lambda item: (-sum(item[1].values()), item[0])):
        lines.append(f"  {sum(files.values())} × {reason}")
        lines.append("      in " + ", ".join(f"{file} ({count})" for file, count in sorted(files.items())))
    return lines


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Generator[None]:
    # Around pytest's own summary (failures, then its short summary): the block comes last, just above the
    # "N passed, M skipped" line.
    yield
    lines = skip_summary(terminalreporter.stats.get("skipped", []))
    if not lines:
        return
    terminalreporter.write_sep("!", "SKIPPED", yellow=True, bold=True)
    terminalreporter.write_line(lines[0], yellow=True, bold=True)
    for line in lines[1:]:
        terminalreporter.write_line(line, yellow=True)
