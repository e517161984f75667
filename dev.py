#!/usr/bin/env python3
"""Bootstrap and run Ledgerbridge with nothing but Python 3.11+: `python3 dev.py demo` or `python3 dev.py test`.

Creates .venv, installs the pinned requirements (requirements.lock) with uv, then runs the command.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".requirements.sha256"
UV_VERSION = "0.13.9"


def run(*argv: str | Path, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(a) for a in argv], check=True, cwd=ROOT, env=env)  # noqa: S603


def ensure_environment() -> None:
    """Install exactly what the lock file pins, once per change of the lock file."""
    if not PYTHON.exists():
        run(sys.executable, "-m", "venv", VENV)
    digest = hashlib.sha256(LOCK.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    uv = VENV / "bin" / "uv"
    if not uv.exists():
        run(PYTHON, "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}")
    run(uv, "pip", "install", "--quiet", "--python", PYTHON, "-r", LOCK)
    run(uv, "pip", "install", "--quiet", "--python", PYTHON, "--no-deps", "-e", ".")
    STAMP.write_text(digest)


def main() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (this script runs before the venv exists)
        sys.exit("Ledgerbridge needs Python 3.11 or newer.")
    command, *rest = sys.argv[1:] or ["help"]
    if command not in {"demo", "test", "manage", "setup"}:
        sys.exit("usage: python3 dev.py demo | test [pytest args] | manage <command> | setup")
    ensure_environment()
    env = dict(os.environ)
    if command == "demo":
        os.execve(PYTHON, [str(PYTHON), "manage.py", "demo", *rest], env)  # noqa: S606
    if command == "test":
        os.execve(PYTHON, [str(PYTHON), "-m", "pytest", *rest], env)  # noqa: S606
    if command == "manage":
        os.execve(PYTHON, [str(PYTHON), "manage.py", *rest], env)  # noqa: S606


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
