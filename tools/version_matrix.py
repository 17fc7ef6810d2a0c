#!/usr/bin/env python3
"""Run spikegrad's test suite across (Python, torch) pairs, each in a fresh virtual environment.

For every pair it makes a new venv with that Python, installs that torch (with the Triton that
torch pins for its CUDA wheels), the package with its ``test`` extra, and the peers that install
on that version (SpikingJelly 2.0 needs Python >= 3.11 and torch >= 2.6; where it cannot install,
its differential tests skip and the table says why), then runs pytest and records the outcome.

Results go to a state folder (default ``.version-matrix/`` in the repository, git-ignored)::

    results/<pair>.json   counts, versions, commands, failures (one file per pair)
    logs/<pair>.log       the full install and pytest output
    junit/<pair>.xml      pytest's JUnit report
    matrix.md             the table of all recorded pairs and every failure, grouped by error

The run is resumable: a pair that already passed on the same source tree is skipped (``--force``
runs it again); failed, broken or missing pairs run. Installs use ``uv`` when it is on PATH (or
given with ``--uv``): it hard-links packages from one shared cache, so a venv costs almost no disk
and a reinstall takes seconds. Without it, ``pip`` installs each venv in full (several GB for a
CUDA build of torch), and the venv is deleted after its run unless ``--keep-venvs``.

Examples::

    python tools/version_matrix.py                         # the supported matrix (see PAIRS)
    python tools/version_matrix.py --pairs 3.10:2.9.1 3.13:2.15.0
    python tools/version_matrix.py --only-failed           # rerun what did not pass
    python tools/version_matrix.py --table                 # print the table of recorded results
    python tools/version_matrix.py --update-readme         # also write the table into README.md
    python tools/version_matrix.py --pairs 3.11:2.14.1 -- tests/surrogate -x   # pytest arguments

Only the standard library is used, so any Python >= 3.10 runs it.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: The supported range: the oldest supported torch (2.9) on every supported Python, the
#: development build, and the newest torch on every Python it ships wheels for (2.15 dropped 3.10).
#: torch 2.5-2.8 are outside it: with torch 2.5.1 dynamo cannot compile a spikegrad network.
PAIRS: tuple[tuple[str, str], ...] = (
    ("3.10", "2.9.1"), ("3.11", "2.9.1"), ("3.12", "2.9.1"), ("3.13", "2.9.1"),
    ("3.11", "2.13.0"),
    ("3.10", "2.14.1"), ("3.11", "2.14.1"),
    ("3.11", "2.15.0"), ("3.12", "2.15.0"), ("3.13", "2.15.0"),
)
#: pytest's options in every run: all failures, not the first collection error; a failing property
#: test reported as found, not shrunk (tests/conftest.py); no test hangs the matrix.
PYTEST_OPTIONS = ("-q", "-p", "no:cacheprovider", "--continue-on-collection-errors",
                  "--hypothesis-profile=no-shrink", "--timeout", "600")

#: The Triton each torch release pins for its Linux x86-64 CUDA wheels (``Requires-Dist: triton==``).
#: CPU builds of torch pin none; the matrix installs this one with them so every pair runs the
#: Triton its torch was released with. Update it when a torch release is added to PAIRS.
TRITON_FOR_TORCH: dict[str, str] = {
    "2.5": "3.1.0", "2.6": "3.2.0", "2.7": "3.3.1", "2.8": "3.4.0", "2.9": "3.5.1",
    "2.10": "3.6.0", "2.11": "3.6.0", "2.12": "3.7.1", "2.13": "3.7.1", "2.14": "3.8.0",
    "2.15": "3.9.0",
}
#: Pythons a torch release ships no Triton for (torch 2.5's wheels require it for Python < 3.13 only).
NO_TRITON_FROM_PYTHON: dict[str, tuple[int, int]] = {"2.5": (3, 13)}

SPIKINGJELLY = "spikingjelly==2.0.0"
#: SpikingJelly 2.0's own requirements (its METADATA): Python >= 3.11 and torch >= 2.6.
SPIKINGJELLY_NEEDS = ((3, 11), (2, 6))
PYTEST_TIMEOUT = "pytest-timeout==2.4.0"

README_BEGIN, README_END = "<!-- version-matrix -->", "<!-- /version-matrix -->"


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


@dataclasses.dataclass
class Pair:
    python: str
    torch: str

    @property
    def name(self) -> str:
        return f"py{self.python}-torch{self.torch}"

    @property
    def triton(self) -> str | None:
        minor = ".".join(self.torch.split(".")[:2])
        if version_tuple(self.python) >= NO_TRITON_FROM_PYTHON.get(minor, (99, 0)):
            return None
        return TRITON_FOR_TORCH.get(minor)

    @property
    def spikingjelly_installs(self) -> bool:
        py_min, torch_min = SPIKINGJELLY_NEEDS
        return version_tuple(self.python) >= py_min and version_tuple(self.torch)[:2] >= torch_min


def parse_pair(text: str) -> Pair:
    match = re.fullmatch(r"(3\.\d+):(\d+\.\d+\.\d+)", text)
    if not match:
        raise argparse.ArgumentTypeError(f"a pair is PYTHON:TORCH such as 3.11:2.14.1, got {text!r}")
    return Pair(match.group(1), match.group(2))


# --------------------------------------------------------------------------- finding things


def find_python(version: str) -> str | None:
    """An interpreter of this minor version: on PATH, then in pyenv's and uv's folders."""
    candidates = [shutil.which(f"python{version}") or ""]
    home = Path.home()
    for pattern in (f"{home}/.pyenv/versions/{version}.*/bin/python{version}",
                    f"{home}/.local/share/uv/python/cpython-{version}.*/bin/python{version}",
                    f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
        candidates += sorted(glob.glob(pattern), key=version_tuple, reverse=True)
    for candidate in candidates:
        if not candidate:
            continue
        try:
            out = subprocess.run([candidate, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return candidate
    return None


def pip_index_options() -> list[str]:
    """pip's configured find-links and extra indexes (this machine keeps wheels on disk), for uv."""
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    options: list[str] = []
    for line in out.splitlines():
        key, _, value = line.partition("=")
        value = value.strip().strip("'\"")
        if key.endswith(".find-links"):
            options += [arg for link in value.split() for arg in ("--find-links", link)]
        elif key.endswith(".extra-index-url"):
            options += [arg for url in value.split() for arg in ("--extra-index-url", url)]
    for name, flag in (("PIP_FIND_LINKS", "--find-links"), ("PIP_EXTRA_INDEX_URL", "--extra-index-url")):
        for value in os.environ.get(name, "").split():
            if value not in options:
                options += [flag, value]
    return options


def source_fingerprint() -> str:
    """What was tested: HEAD's tree plus any uncommitted change, so a result is reused only for
    the same code."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True).stdout

    tree = git("rev-parse", "HEAD^{tree}").strip() or "no-git"
    dirty = git("diff", "HEAD", "--", "src", "tests", "pyproject.toml")
    untracked = git("ls-files", "--others", "--exclude-standard", "--", "src", "tests")
    digest = hashlib.sha256((dirty + untracked).encode()).hexdigest()[:12]
    return f"{tree[:12]}+{digest}" if dirty or untracked else tree[:12]


# --------------------------------------------------------------------------- running one pair


class Runner:
    def __init__(self, state: Path, uv: str | None, keep_venvs: bool, timeout: int, nice: int) -> None:
        self.state = state
        self.uv = uv
        self.keep_venvs = keep_venvs
        self.timeout = timeout
        self.nice = nice
        self.index_options = pip_index_options() if uv else []
        for sub in ("results", "logs", "junit", "venvs"):
            (state / sub).mkdir(parents=True, exist_ok=True)

    def run(self, pair: Pair, pytest_args: Sequence[str], fingerprint: str) -> dict:
        log_path = self.state / "logs" / f"{pair.name}.log"
        junit = self.state / "junit" / f"{pair.name}.xml"
        venv = self.state / "venvs" / pair.name
        result: dict = {
            "pair": pair.name, "python": pair.python, "torch_requested": pair.torch,
            "fingerprint": fingerprint, "pytest_args": list(pytest_args),
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "commands": [], "notes": [],
        }
        start = time.monotonic()
        with open(log_path, "w") as log:
            try:
                self._install(pair, venv, log, result)
                self._test(pair, venv, junit, pytest_args, log, result)
            except StepFailed as failure:
                result["status"] = failure.status
                result["error"] = failure.message
            finally:
                if not self.keep_venvs and not self.uv:
                    shutil.rmtree(venv, ignore_errors=True)
        result["seconds"] = round(time.monotonic() - start)
        (self.state / "results" / f"{pair.name}.json").write_text(json.dumps(result, indent=1))
        return result

    def _step(self, cmd: list[str], log, result: dict, status: str, timeout: int = 3600,
              env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
        shown = " ".join(cmd)
        result["commands"].append(shown)
        log.write(f"\n$ {shown}\n")
        log.flush()
        for attempt in range(5):
            try:
                done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env,
                                      timeout=timeout)
                break
            except subprocess.TimeoutExpired as exc:
                raise StepFailed(status, f"timed out after {timeout} s: {shown}") from exc
            except BlockingIOError:  # fork refused while the machine is short of processes: wait
                if attempt == 4:
                    raise
                time.sleep(30)
        if check and done.returncode != 0:
            raise StepFailed(status, f"exit {done.returncode}: {shown} (see {log.name})")
        return done

    def _install(self, pair: Pair, venv: Path, log, result: dict) -> None:
        python = find_python(pair.python)
        if python is None:
            raise StepFailed("no-python", f"no Python {pair.python} found (PATH, pyenv, uv)")
        shutil.rmtree(venv, ignore_errors=True)
        packages = [f"torch=={pair.torch}"]
        minor = ".".join(pair.torch.split(".")[:2])
        if pair.triton:
            packages.append(f"triton=={pair.triton}")
        elif minor in NO_TRITON_FROM_PYTHON:
            result["notes"].append(f"torch {minor} ships no Triton for Python {pair.python}")
        else:
            result["notes"].append(f"no Triton pin known for torch {pair.torch}: add it to TRITON_FOR_TORCH")
        packages += [".[test]", PYTEST_TIMEOUT]
        vpython = str(venv / "bin" / "python")
        if self.uv:
            # --seed: pip (and setuptools before Python 3.12), as `python -m venv` gives users;
            # torch 2.5's inductor imports setuptools where it is not a torch requirement.
            self._step([self.uv, "venv", "-q", "--seed", "-p", python, str(venv)], log, result,
                       "install-failed")
            install = [self.uv, "pip", "install", "-p", vpython, "--index-strategy", "unsafe-best-match",
                       *self.index_options]
        else:
            self._step([python, "-m", "venv", str(venv)], log, result, "install-failed")
            self._step([vpython, "-m", "pip", "install", "-q", "--upgrade", "pip"], log, result,
                       "install-failed")
            install = [vpython, "-m", "pip", "install"]
        self._step([*install, *packages], log, result, "install-failed")
        if pair.spikingjelly_installs:
            # --no-deps: its own requirements would pull another torch build.
            self._step([*install, "--no-deps", SPIKINGJELLY], log, result, "install-failed")
        else:
            result["notes"].append("SpikingJelly 2.0 needs Python >= 3.11 and torch >= 2.6: "
                                   "its differential tests are skipped")
        probe = ("import json, importlib.metadata as m\n"
                 "def v(name):\n"
                 "    try: return m.version(name)\n"
                 "    except m.PackageNotFoundError: return None\n"
                 "print(json.dumps({n: v(n) for n in ('torch', 'triton', 'spikingjelly', 'spikegrad')}))")
        versions = subprocess.run([vpython, "-c", probe], capture_output=True, text=True, cwd=REPO)
        result["versions"] = json.loads(versions.stdout) if versions.returncode == 0 else {}
        result["python_full"] = subprocess.run(
            [vpython, "-c", "import platform; print(platform.python_version())"],
            capture_output=True, text=True).stdout.strip()

    def _test(self, pair: Pair, venv: Path, junit: Path, pytest_args: Sequence[str], log,
              result: dict) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        cmd = [str(venv / "bin" / "python"), "-m", "pytest", *PYTEST_OPTIONS, f"--junitxml={junit}",
               *pytest_args]
        if self.nice:
            cmd = ["nice", "-n", str(self.nice), *cmd]
        junit.unlink(missing_ok=True)
        done = self._step(cmd, log, result, "timeout", timeout=self.timeout, env=env, check=False)
        result["pytest_exit"] = done.returncode
        result.update(read_junit(junit))
        if not junit.exists():
            raise StepFailed("error", f"pytest exited {done.returncode} without a report (see {log.name})")
        clean = done.returncode == 0 and result["failed"] == 0 and result["errors"] == 0
        result["status"] = "passed" if clean else "failed"


class StepFailed(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def read_junit(path: Path) -> dict:
    """Counts and failures (test id, first line, traceback) from pytest's JUnit XML."""
    if not path.exists():
        return {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "failures": []}
    root = ET.parse(path).getroot()
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    failures = []
    for case in root.iter("testcase"):
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "errors"
                failures.append({"test": test_id, "kind": child.tag,
                                 "message": (child.get("message") or "").strip(),
                                 "traceback": (child.text or "").strip()})
            elif child.tag == "skipped" and outcome == "passed":
                outcome = "skipped"
        counts[outcome] += 1
    return {**counts, "failures": failures}


# --------------------------------------------------------------------------- reporting


def load_results(state: Path) -> list[dict]:
    results = [json.loads(p.read_text()) for p in sorted((state / "results").glob("*.json"))]
    return sorted(results, key=lambda r: (version_tuple(r["torch_requested"]), version_tuple(r["python"])))


def summary(result: dict) -> str:
    if result.get("status") in ("passed", "failed"):
        parts = [f"{result['passed']} passed"]
        parts += [f"{result[k]} {k}" for k in ("failed", "errors", "skipped") if result.get(k)]
        text = ", ".join(parts)
    else:
        text = f"{result.get('status')}: {result.get('error', '').split(': ')[0][:80]}"
    if result.get("pytest_args"):
        text += f" (pytest {' '.join(result['pytest_args'])})"
    return text


def duration(seconds: int) -> str:
    return f"{seconds} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def table(results: list[dict], provenance: bool = False) -> str:
    """The markdown table; ``provenance`` adds when and on which source tree each pair ran."""
    lines = ["| Python | torch | Triton | SpikingJelly 2.0 | result | time |" + " ran on |" * provenance,
             "|---|---|---|---|---|---|" + "---|" * provenance]
    for r in results:
        v = r.get("versions", {})
        mark = {"passed": "green", "failed": "**red**"}.get(r.get("status", ""), f"**{r.get('status')}**")
        sj = v.get("spikingjelly") or "not installable (needs Python >= 3.11, torch >= 2.6)"
        ran_on = f" {r.get('started', '?')}, source {r.get('fingerprint', '?')} |" if provenance else ""
        lines.append(f"| {r.get('python_full') or r['python']} | {v.get('torch') or r['torch_requested']} "
                     f"| {v.get('triton') or '-'} | {sj} | {mark}: {summary(r)} "
                     f"| {duration(r.get('seconds', 0))} |{ran_on}")
    return "\n".join(lines)


def error_signature(failure: dict) -> str:
    """The exception line of a failure (type and message), which groups failures of one cause."""
    lines = [ln for ln in failure["traceback"].splitlines() if re.match(r"^E\s+\S", ln)]
    if lines:
        first = lines[0][1:].strip()
    else:
        first = failure["message"].splitlines()[0] if failure["message"] else ""
    first = re.sub(r"0x[0-9a-f]+", "0x…", first)
    return first[:300]


def last_frames(traceback: str, lines: int = 60) -> str:
    body = traceback.splitlines()
    return "\n".join(body[-lines:])


def failures_markdown(results: list[dict]) -> str:
    out: list[str] = []
    for r in results:
        if r.get("status") == "passed":
            continue
        out.append(f"### Python {r['python']}, torch {r['torch_requested']}: {summary(r)}\n")
        for note in r.get("notes", []):
            out.append(f"- note: {note}")
        groups: dict[str, list[dict]] = {}
        for failure in r.get("failures", []):
            groups.setdefault(error_signature(failure), []).append(failure)
        for signature, members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            tests = ", ".join(f"`{m['test']}`" for m in members[:6])
            more = f" and {len(members) - 6} more" if len(members) > 6 else ""
            out.append(f"\n**{len(members)} x** `{signature}`\n\n{tests}{more}\n")
            out.append("```text\n" + last_frames(members[0]["traceback"]) + "\n```")
        out.append("")
    return "\n".join(out)


def write_reports(state: Path, update_readme: bool) -> str:
    results = load_results(state)
    text = table(results)
    notes = sorted({n for r in results for n in r.get("notes", [])})
    doc = ["# spikegrad version matrix", "", table(results, provenance=True), ""]
    doc += [f"- {n}" for n in notes]
    doc += ["", "Commands of each pair are in results/<pair>.json; full output in logs/<pair>.log.", ""]
    doc += ["## Failures", "", failures_markdown(results) or "none"]
    (state / "matrix.md").write_text("\n".join(doc) + "\n")
    if update_readme:
        # The README shows the supported matrix only; matrix.md keeps every pair ever recorded.
        text = table([r for r in results if (r["python"], r["torch_requested"]) in PAIRS], provenance=True)
        readme = REPO / "README.md"
        body = readme.read_text()
        if README_BEGIN not in body or README_END not in body:
            raise SystemExit(f"README.md has no {README_BEGIN} ... {README_END} block to update")
        head, rest = body.split(README_BEGIN, 1)
        _, tail = rest.split(README_END, 1)
        readme.write_text(f"{head}{README_BEGIN}\n{text}\n{README_END}{tail}")
    return text


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Arguments after -- go to pytest (default: the whole suite).")
    parser.add_argument("--pairs", nargs="+", type=parse_pair, metavar="PY:TORCH",
                        help="pairs to run, e.g. 3.10:2.9.1 (default: the supported matrix)")
    parser.add_argument("--state", type=Path, default=Path(os.environ.get(
        "SPIKEGRAD_MATRIX_DIR", REPO / ".version-matrix")), help="where venvs and results live")
    parser.add_argument("--force", action="store_true", help="rerun pairs that already passed")
    parser.add_argument("--only-failed", action="store_true", help="run only pairs recorded as not passed")
    parser.add_argument("--table", action="store_true", help="only print the table of recorded results")
    parser.add_argument("--update-readme", action="store_true", help="write the table into README.md")
    parser.add_argument("--uv", default=shutil.which("uv"), help="uv executable (default: from PATH)")
    parser.add_argument("--pip", action="store_true", help="install with pip even if uv is available")
    parser.add_argument("--keep-venvs", action="store_true", help="keep pip-made venvs after their run")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per pytest run (default 3600)")
    parser.add_argument("--nice", type=int, default=0, help="niceness of the test runs (0: none)")
    args, pytest_args = parser.parse_known_args(argv)
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]
    elif pytest_args:
        parser.error(f"unknown arguments {pytest_args}; put pytest's after --")

    state: Path = args.state.resolve()
    if args.table:
        print(write_reports(state, args.update_readme))
        return 0
    pairs = args.pairs or [Pair(py, t) for py, t in PAIRS]
    fingerprint = source_fingerprint()
    previous = {r["pair"]: r for r in load_results(state)} if (state / "results").exists() else {}
    runner = Runner(state, None if args.pip else args.uv, args.keep_venvs, args.timeout, args.nice)
    print(f"version matrix: {len(pairs)} pairs, source {fingerprint}, installer "
          f"{'uv' if runner.uv else 'pip'}, state {state}", flush=True)
    for pair in pairs:
        old = previous.get(pair.name)
        same_run = old is not None and old.get("fingerprint") == fingerprint \
            and old.get("pytest_args", []) == pytest_args
        if old and same_run and old.get("status") == "passed" and not args.force:
            print(f"  {pair.name}: passed before on this source, skipped (--force reruns it)", flush=True)
            continue
        if args.only_failed and (old is None or old.get("status") == "passed"):
            continue
        print(f"  {pair.name}: running ...", flush=True)
        result = runner.run(pair, pytest_args, fingerprint)
        print(f"  {pair.name}: {summary(result)} in {result['seconds']} s", flush=True)
    text = write_reports(state, args.update_readme)
    print(f"\n{text}\n\nfailures and tracebacks: {state / 'matrix.md'}")
    results = {r["pair"]: r for r in load_results(state)}
    return 0 if all(results.get(p.name, {}).get("status") == "passed" for p in pairs) else 1


if __name__ == "__main__":
    sys.exit(main())
