"""The one django-environ reader every settings module uses."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Runtime files of a local install (SQLite database, embedded broker, generated dev secrets); never committed.
VAR_DIR = Path(environ.Env().str("LEDGERBRIDGE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
# A .env file is a convenience for local runs; real deployments set the environment.
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))
