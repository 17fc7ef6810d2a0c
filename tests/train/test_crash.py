"""Training killed at random points (inside checkpoint writes and interrupts too) resumes exactly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DRIVER = Path(__file__).with_name("crash_driver.py")


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the driver forks one process per run")
def test_killed_anywhere_the_resumed_run_is_exact(tmp_path: Path) -> None:
    # 5 random kill points among every event of a 2-epoch run (batches, thirds of each torch.save,
    # fsync, rename, link), plus: inside the first checkpoint's write, right after its rename,
    # Ctrl-C in epoch 1, and Ctrl-C in epoch 2 killed while it saves. ~15 s on 2 idle cores.
    proc = subprocess.run([sys.executable, str(DRIVER), str(tmp_path), "0", "5"], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    runs = report["runs"]
    assert report["events"] > 40 and len(runs) == 9
    assert {r["event"] for r in runs} >= {"batch", "save", "fsync", "replace"}
    for run in runs:
        mode = run["plan"][0]
        assert run["ended"] == (["exit", 130] if mode == "interrupt" else ["signal", 9]), run
        assert run["resumes"] == [["exit", 0]], run  # one resume finishes it
        assert run["problems"] == [], run  # weights, best.pt, metrics, config, files: as if never killed
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
