from __future__ import annotations

import builtins
import io

import pytest

from spikegrad.train.progress import Progress


def _run(progress: Progress) -> None:
    progress.line("header")
    progress.start("epoch 1/1", 3)
    for i in range(3):
        progress.update(loss=1.0 / (i + 1))
    progress.stop()
    progress.line("epoch 1/1  done")


def test_lines_without_a_terminal() -> None:
    bar, out = io.StringIO(), io.StringIO()
    _run(Progress(stream=bar, out=out))  # StringIO is not a terminal: lines only
    assert out.getvalue() == "header\nepoch 1/1  done\n" and bar.getvalue() == ""


def test_tqdm_bar() -> None:
    pytest.importorskip("tqdm")
    bar, out = io.StringIO(), io.StringIO()
    _run(Progress(bar=True, stream=bar, out=out))
    assert "epoch 1/1:" in bar.getvalue() and "/3 [" in bar.getvalue()  # tqdm draws at its own pace
    assert out.getvalue() == "header\nepoch 1/1  done\n"


def test_simple_bar_without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_tqdm(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    bar, out = io.StringIO(), io.StringIO()
    _run(Progress(bar=True, stream=bar, out=out))
    assert "epoch 1/1 [" in bar.getvalue() and "3/3" in bar.getvalue()
    assert out.getvalue() == "header\nepoch 1/1  done\n"


def test_disabled_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    _run(Progress(enabled=False, bar=True))
    assert capsys.readouterr() == ("", "")
