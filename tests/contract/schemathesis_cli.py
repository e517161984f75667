"""Runs the schemathesis CLI with `ast.parse` serialised across threads.

With `--workers 2`, Hypothesis describes filter lambdas with `ast.parse` in both worker threads at once, and
CPython 3.11 keeps the AST constructor's recursion depth per interpreter, not per thread, so a run dies now and
then with "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905, seen in CI on 771851b).
A lock around `ast.parse` keeps two workers (half the run time of one) without that race.
"""

from __future__ import annotations

import ast
import sys
import threading
from typing import Any

_lock = threading.Lock()
_parse = ast.parse


def _serialised_parse(*args: Any, **kwargs: Any) -> ast.AST:
    with _lock:
        return _parse(*args, **kwargs)


if __name__ == "__main__":
    ast.parse = _serialised_parse  # type: ignore[assignment]
    from schemathesis.cli import schemathesis

    sys.exit(schemathesis())
