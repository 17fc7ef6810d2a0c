"""Run folders: one writer at a time, a lock that dies with its process, clear refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from spikegrad.train import rundir
from spikegrad.train.errors import RunFolderError, RunFolderInUse

HOLD = textwrap.dedent("""
    import sys, time
    from spikegrad.train import rundir
    with rundir.lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(60)
""")


def _holder(folder: Path) -> subprocess.Popen[str]:
    """Another process that holds the folder's lock (until it is killed)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_process_is_refused_and_the_lock_dies_with_the_first(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    holder = _holder(folder)
    try:
        with pytest.raises(RunFolderInUse, match=rf"{folder} is in use by another training "
                                                  rf"\(process {holder.pid}\)"), rundir.lock(folder):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)  # killed, not cleaned up: the kernel releases the lock
        holder.wait()
    with rundir.lock(folder) as path:
        assert path == folder and (folder / rundir.LOCK).read_text().strip() == str(os.getpid())


def test_lock_is_reentrant_within_a_process(tmp_path: Path) -> None:
    with rundir.lock(tmp_path), rundir.lock(tmp_path):
        pass
    with rundir.lock(tmp_path):  # released after the outer block: can be taken again
        pass
    assert not rundir._held


def test_unusable_folders_are_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunFolderError, match="exists and is not a folder"):
        rundir.create(tmp_path / "file")
    with pytest.raises(RunFolderError, match="cannot create the run folder"):
        rundir.create(tmp_path / "file" / "run")
    with pytest.raises(RunFolderError, match="cannot create the run folder /proc/spikegrad-run"):
        rundir.create("/proc/spikegrad-run")
    with pytest.raises(RunFolderError, match="must be a path"):
        rundir.create("")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(RunFolderError, match="cannot write to the run folder"), rundir.lock(folder):
            pass
    finally:
        folder.chmod(0o700)


def test_holds_run_and_config_json(tmp_path: Path) -> None:
    assert not rundir.holds_run(tmp_path)
    (tmp_path / "config.json").write_text('{"T": 2}')
    assert rundir.holds_run(tmp_path) and rundir.read_config_json(tmp_path) == {"T": 2}
    (tmp_path / "config.json").write_text("[1]")
    with pytest.raises(ValueError, match="must hold a JSON object"):
        rundir.read_config_json(tmp_path)
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(ValueError, match="not readable JSON"):
        rundir.read_config_json(tmp_path)
    with pytest.raises(FileNotFoundError, match="no run in"):
        rundir.read_config_json(tmp_path / "nothing")
