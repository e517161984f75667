"""gateway/metrics/multiprocess.py: folding the files of dead processes into one archive per type keeps every
sum, leaves live processes' files alone, and a collector's scrape sums everything under the directory's lock.
(The same with real gunicorn workers recycled during a run: test_processes.py.)"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict, mmap_key

from gateway.metrics import multiprocess

KEY = mmap_key("ledgerbridge_h5_probe_total", "ledgerbridge_h5_probe_total", ["queue"], ["sync"], "A probe.")


def _dead_pid() -> int:
    process = multiprocessing.get_context("fork").Process(target=lambda: None)
    process.start()
    process.join()
    return int(process.pid or 0)


def _write(path: Path, kind: str, pid: int, value: float) -> Path:
    file = path / f"{kind}_{pid}.db"
    data = MmapedDict(str(file))
    try:
        data.write_value(KEY, value, 0.0)
    finally:
        data.close()
    return file


def _read(file: Path) -> float:
    data = MmapedDict(str(file))
    try:
        return data.read_value(KEY)[0]
    finally:
        data.close()


def test_dead_processes_are_folded_into_the_archive_and_the_sum_stays(tmp_path: Path) -> None:
    first_dead, second_dead = _dead_pid(), _dead_pid()
    _write(tmp_path, "counter", first_dead, 3)
    _write(tmp_path, "counter", second_dead, 4)
    mine = _write(tmp_path, "counter", os.getpid(), 5)
    (tmp_path / "gauge_livesum_1.db").write_bytes(b"")  # not a counter or histogram file: left alone

    assert multiprocess.dead_processes_archive(tmp_path) == 2

    assert sorted(file.name for file in tmp_path.glob("*.db")) == sorted(
        ["counter_archive.db", mine.name, "gauge_livesum_1.db"]
    )
    assert _read(tmp_path / "counter_archive.db") == 7 and _read(mine) == 5
    _write(tmp_path, "counter", _dead_pid(), 2)  # another recycled worker: added to the same archive
    assert multiprocess.dead_processes_archive(tmp_path) == 1
    assert _read(tmp_path / "counter_archive.db") == 9


def test_a_scrape_sums_the_archive_and_the_live_files(tmp_path: Path) -> None:
    _write(tmp_path, "counter", _dead_pid(), 3)
    _write(tmp_path, "counter", os.getpid(), 5)

    (family,) = [f for f in multiprocess.ArchivingMultiProcessCollector(tmp_path).collect() if "h5_probe" in f.name]

    totals = [sample.value for sample in family.samples if sample.name.endswith("_total")]
    assert totals == [8]
    assert (tmp_path / multiprocess.LOCK_NAME).exists()
