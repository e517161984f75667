"""prometheus-client's multiprocess mode: every process writes its counters to files, an exporter sums them.

The mode is on when PROMETHEUS_MULTIPROC_DIR is set before the first instrument is created: deploy/gunicorn.conf.py
sets it for the web server (all workers of one server share a directory, emptied when the server starts), and a
Celery worker sets it for its main process and prefork children (gateway/metrics/worker.py). A process started
without it (runserver, manage.py, tests) counts in memory and serves its own numbers.

Dead processes: their files stay (a counter must not drop when a worker is recycled), but each exporter scrape folds
the files of processes that no longer exist into one archive file per type, under a lock that every scrape of the
same directory takes, so the sum never moves and the directory does not grow with every recycled worker.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import values
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector

ENV = "PROMETHEUS_MULTIPROC_DIR"
LOCK_NAME = ".ledgerbridge-metrics.lock"
# Counters and histograms only: every gauge of the catalogue is computed at scrape time.
_PROCESS_FILE = re.compile(r"^(counter|histogram)_(\d+)\.db$")


def directory() -> Path | None:
    """The multiprocess directory of this process, or None when it counts in memory."""
    path = os.environ.get(ENV)
    return Path(path) if path else None


def enabled() -> bool:
    """Whether instruments created now write to the multiprocess directory."""
    return directory() is not None and getattr(values.ValueClass, "_multiprocess", False)


def directory_ensure() -> None:
    """Create the directory PROMETHEUS_MULTIPROC_DIR names (an operator may name one that does not exist yet)."""
    path = directory()
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)


def directory_prepare(*, role: str, empty: bool) -> Path:
    """Choose this process tree's directory (the environment's, else a new temporary one) and switch the mode on.

    Call it before any instrument exists (gateway.metrics.instruments not imported yet); children inherit it.
    `empty`: remove what a previous run left (a server starting; never a worker process joining a running tree).
    """
    path = directory()
    if path is None:
        path = Path(tempfile.mkdtemp(prefix=f"ledgerbridge-metrics-{role}-"))
        os.environ[ENV] = str(path)
    path.mkdir(parents=True, exist_ok=True)
    if empty:
        for child in path.glob("*.db"):
            child.unlink(missing_ok=True)
    values.ValueClass = values.get_value_class()
    return path


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path / LOCK_NAME, "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def dead_processes_archive(path: Path) -> int:
    """Fold the files of processes that are gone into `<type>_archive.db`; the caller holds the lock. Files done."""
    folded = 0
    for file in sorted(path.iterdir()):
        match = _PROCESS_FILE.match(file.name)
        if match is None or _alive(int(match.group(2))):
            continue
        archive = MmapedDict(str(path / f"{match.group(1)}_archive.db"))
        try:
            for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(str(file)):
                current, _ = archive.read_value(key)
                archive.write_value(key, current + value, timestamp)
        finally:
            archive.close()
        file.unlink()
        folded += 1
    return folded


class ArchivingMultiProcessCollector:
    """prometheus-client's MultiProcessCollector, reading under the directory's lock after folding dead files."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def collect(self) -> Iterator[Any]:
        with _locked(self.path):
            dead_processes_archive(self.path)
            files = [str(file) for file in self.path.glob("*.db")]
            metrics = list(MultiProcessCollector.merge(files, accumulate=True))
        yield from metrics
