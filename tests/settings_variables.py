"""Which environment variables the settings read, which production requires, and which .env.example documents.

Read from the source (AST), so tests of .env.example and of the deployment manifests share one answer.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_DIR = ROOT / "gateway" / "settings"
# Read by manage.py and gateway/wsgi.py (to pick the settings module), not by a settings module.
READ_OUTSIDE_SETTINGS = {"DJANGO_SETTINGS_MODULE"}


def _env_reads(tree: ast.AST) -> list[ast.Call]:
    """Every env("NAME", ...) or env.<reader>("NAME", ...) call with a literal name."""
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        reader = (isinstance(func, ast.Name) and func.id == "env") or (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env"
        )
        if reader and not (isinstance(func, ast.Attribute) and func.attr == "read_env"):
            calls.append(node)
    return calls


def variables_read_by_settings() -> dict[str, str]:
    """Every NAME in env("NAME", ...) or env.<reader>("NAME", ...) in gateway/settings/*.py, with where it is read."""
    found: dict[str, str] = {}
    for path in sorted(SETTINGS_DIR.glob("*.py")):
        for node in _env_reads(ast.parse(path.read_text(), filename=str(path))):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.setdefault(first.value, f"{path.name}:{node.lineno}")
            else:
                # A name built at runtime (a helper's parameter) cannot be checked: follow the helper's callers.
                found.update(_names_passed_to_helpers(path))
    return found


def _names_passed_to_helpers(path: Path) -> dict[str, str]:
    """Names given as string literals to a settings helper that reads env with its parameter, e.g. _region_urls."""
    tree = ast.parse(path.read_text(), filename=str(path))
    helpers = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and any(
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id == "env"
            and call.args
            and isinstance(call.args[0], ast.Name)
            for call in ast.walk(node)
        )
    }
    return {
        node.args[0].value: f"{path.name}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in helpers
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def variables_without_default() -> set[str]:
    """Variables some settings module reads with no default: the process cannot start without them."""
    names = set()
    for path in sorted(SETTINGS_DIR.glob("*.py")):
        for node in _env_reads(ast.parse(path.read_text(), filename=str(path))):
            first = node.args[0]
            has_default = len(node.args) > 1 or any(keyword.arg == "default" for keyword in node.keywords)
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and not has_default:
                names.add(first.value)
    return names


def variables_required_in_production() -> set[str]:
    """Read without a default, or named in an ImproperlyConfigured that gateway/settings/production.py raises."""
    read = variables_read_by_settings()
    refused_without: set[str] = set()
    tree = ast.parse((SETTINGS_DIR / "production.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            for constant in ast.walk(node.exc):
                if isinstance(constant, ast.Constant) and isinstance(constant.value, str):
                    refused_without.update(re.findall(r"\b[A-Z][A-Z0-9_]+\b", constant.value))
    return variables_without_default() | (refused_without & set(read))


def variables_in_env_example() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))
