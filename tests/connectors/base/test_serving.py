"""serve_until_interrupted: SIGINT (even when ignored at start) and SIGTERM end serving and run `stop` once."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.base.serving import serve_until_interrupted

ROOT = Path(__file__).resolve().parents[3]

# The child checks that it really starts with SIGINT ignored, serves until a signal, and says when it stops.
PROGRAM = """
import signal, sys, time
from connectors.base.serving import serve_until_interrupted

assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN, "the test must start this process with SIGINT ignored"

def serve(service):
    print("serving", service, flush=True)
    while True:
        time.sleep(0.05)

serve_until_interrupted(lambda: "sandbox", serve=serve, stop=lambda service: print("stopped", service, flush=True))
print("exited", flush=True)
"""


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_serving_and_stops_once(signum: signal.Signals) -> None:
    # As a background job of a non-interactive shell: SIGINT ignored, so Python installs no handler of its own.
    process = subprocess.Popen(
        [sys.executable, "-c", PROGRAM],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 3)
        assert ready, "the child did not start serving within 3 s"
        assert process.stdout.readline() == "serving sandbox\n"
        process.send_signal(signum)
        output, errors = process.communicate(timeout=3)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, errors
    assert output.splitlines() == ["stopped sandbox", "exited"]


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    """The helper installs process-wide handlers; give pytest its own back."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.usefixtures("restored_handlers")
def test_an_error_while_serving_propagates_after_one_stop() -> None:
    stopped: list[str] = []

    def serve(service: str) -> None:
        raise RuntimeError("port vanished")

    with pytest.raises(RuntimeError, match="port vanished"):
        serve_until_interrupted(lambda: "sandbox", serve=serve, stop=stopped.append)
    assert stopped == ["sandbox"]


@pytest.mark.usefixtures("restored_handlers")
def test_nothing_is_stopped_when_start_fails() -> None:
    stopped: list[object] = []

    def start() -> str:
        raise OSError("address in use")

    with pytest.raises(OSError, match="address in use"):
        serve_until_interrupted(start, serve=lambda service: None, stop=stopped.append)
    assert stopped == []
