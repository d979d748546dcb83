"""The recorded wire answers each provider package ships (`<kind>/recorded.json`), for the contract suite.

Each entry names its public source and what it must mean (`expect`): the failure kind, the provider's
code, and for auth failures the reason. Local mail's personas answer with the same bodies.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def recorded_answers(kind: str) -> dict[str, Any]:
    path = PACKAGE_DIR / kind / "recorded.json"
    return json.loads(path.read_text()) if path.exists() else {}


def recorded_entries(kind: str, surface: str) -> dict[str, dict[str, Any]]:
    """{name: entry} of one surface ("token", "authorize" or "imap") of a provider's recorded answers."""
    return dict(recorded_answers(kind).get(surface, {}))
