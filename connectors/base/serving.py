"""Serve in the foreground until Ctrl-C or SIGTERM, then clean up once: for the sandbox and demo commands."""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

Service = TypeVar("Service")


def serve_until_interrupted(
    start: Callable[[], Service],
    *,
    serve: Callable[[Service], object],
    stop: Callable[[Service], object],
) -> None:
    """Start a service, serve it until SIGINT or SIGTERM, then stop it exactly once.

    The handlers are installed before `start()`, so an interrupt sent as soon as the service answers is not lost.
    An interrupt ends serving quietly; `stop` runs once whether `serve` returns, is interrupted or raises. An
    error or interrupt inside `start()` propagates and `stop` does not run (there is nothing to stop yet).
    """
    # SIGTERM (docker stop, systemd, a test ending the demo) must run `stop` too, like Ctrl-C: the sandboxes save
    # their snapshot there, the demo stops its worker.
    signal.signal(signal.SIGTERM, _interrupt)
    # Ctrl-C too, even when started with SIGINT ignored (a background job of a non-interactive shell inherits
    # that, and Python then installs no KeyboardInterrupt handler).
    signal.signal(signal.SIGINT, _interrupt)
    service = start()
    # The service answers as soon as start() returns: a Ctrl-C or SIGTERM before serve() takes over must stop it
    # too (a test once saw the sandbox outlive its caller's 30 s wait under load).
    try:
        serve(service)
    except KeyboardInterrupt:
        pass
    finally:
        stop(service)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
