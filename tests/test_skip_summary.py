"""The block that ends a run with its skips: counted, grouped by reason, most first, with where they are."""

import os
import subprocess
import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent

SKIPPING = """
import pytest

@pytest.fixture(scope="module")
def server():
    pytest.skip("no server here")

def test_one(server): pass
def test_two(server): pass

@pytest.mark.skipif(True, reason="not on this system")
def test_three(): pass

def test_runs(): pass
"""


def _pytest(directory: Path, *files: str) -> subprocess.CompletedProcess[str]:
    """A separate pytest run with this plugin alone (no Django, no project settings)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.skip_summary", "-p", "no:django", "-p", "no:cacheprovider"]
        + ["-q", "--color=no", *files],
        cwd=directory,
        env={**os.environ, "PYTHONPATH": str(REPO_DIR)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_run_ends_with_its_skips_grouped_by_reason(tmp_path: Path) -> None:
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    (tmp_path / "test_other.py").write_text(SKIPPING.replace("def test_runs", "def test_also_runs"))

    run = _pytest(tmp_path, "test_skipping.py", "test_other.py")

    assert run.returncode == 0, run.stdout
    block = run.stdout[run.stdout.index("SKIPPED !") :].splitlines()
    assert block[1:6] == [
        "6 tests SKIPPED:",
        "  4 × no server here",
        "      in test_other.py (2), test_skipping.py (2)",
        "  2 × not on this system",
        "      in test_other.py (1), test_skipping.py (1)",
    ]
    assert len(block) == 7 and "2 passed, 6 skipped" in block[-1]  # last, above pytest's own last line


def test_a_run_without_skips_prints_no_block(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_runs(): pass\n")

    run = _pytest(tmp_path, "test_plain.py")

    assert run.returncode == 0 and "SKIPPED" not in run.stdout, run.stdout
