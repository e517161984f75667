"""The one django-environ reader every settings module uses."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A .env file is a convenience for local runs; real deployments set the environment (which wins over the file).
# Read first, so every setting below (LEDGERBRIDGE_VAR_DIR included) may come from it.
ENV_FILE = Path(env.str("LEDGERBRIDGE_ENV_FILE", default=str(BASE_DIR / ".env")))
if ENV_FILE.is_file():
    env.read_env(str(ENV_FILE))

# Runtime files of a local install (SQLite database, embedded broker, generated dev secrets); never committed.
VAR_DIR = Path(env.str("LEDGERBRIDGE_VAR_DIR", default=str(BASE_DIR / "var")))
