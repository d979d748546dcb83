"""Every environment variable the settings read is named in one of README's tables."""

import ast
import re
from pathlib import Path

from config import mail_providers

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILES = ("config/settings.py", "config/env.py", "config/mail_providers.py", "config/test_ports.py")


def _is_environ_get(func: ast.expr) -> bool:
    """os.environ.get(...) or os.getenv(...)."""
    if isinstance(func, ast.Attribute) and func.attr == "get":
        inner = func.value
        return isinstance(inner, ast.Attribute) and inner.attr == "environ"
    return isinstance(func, ast.Attribute) and func.attr == "getenv"


def variables_read(source: str) -> set[str]:
    """Names passed as literals to the env_* readers, os.environ.get, os.getenv or os.environ[...]."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args:
            first = node.args[0]
            func = node.func
            is_env_reader = isinstance(func, ast.Name) and func.id.startswith("env_")
            if (is_env_reader or _is_environ_get(func)) and isinstance(first, ast.Constant):
                names.add(str(first.value))
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "environ"
            and isinstance(node.slice, ast.Constant)
        ):
            names.add(str(node.slice.value))
    return names


def readme_table_names() -> set[str]:
    rows = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("|")]
    return set(re.findall(r"`([A-Z<][A-Za-z0-9_<>]*)`", "\n".join(rows)))


def test_the_collector_finds_each_way_of_reading():
    source = 'env_int("A", 1)\nos.environ.get("B")\nos.getenv("C")\nos.environ["D"]\nvalues.get("E")\nenv_str(name)'
    assert variables_read(source) == {"A", "B", "C", "D"}


def test_readme_names_every_variable_the_settings_read():
    read = set().union(*(variables_read((ROOT / path).read_text()) for path in SETTINGS_FILES))
    assert "SITE_URL" in read and "LOCAL_PROVIDER_HTTP_PORT" in read  # the collector sees all three files
    missing = sorted(read - readme_table_names())
    assert not missing, f"README's tables do not name: {', '.join(missing)}"


def test_readme_names_every_provider_override():
    """`<KIND>_<NAME>` is read for every provider kind (config/mail_providers.py): a table names each NAME, as
    `<KIND>_NAME` or for one kind."""
    documented = readme_table_names()
    prefixes = ["<KIND>", *(kind.upper() for kind in mail_providers.KINDS)]
    missing = sorted(
        name for name in mail_providers.OVERRIDABLE if not any(f"{prefix}_{name}" in documented for prefix in prefixes)
    )
    assert not missing, f"README's tables do not name <KIND>_ for: {', '.join(missing)}"
