"""The README's examples run as written.

Convention: every fenced block whose info string is exactly ``python`` is executed by itself,
in a fresh namespace (so each one runs when a reader copies it alone), from a temporary
working directory. If the next fenced block is ``text`` and follows directly (only blank lines
between), it is the expected output: the block's captured stdout must equal it exactly, apart
from trailing whitespace. Blocks in any other language (``bash``, ``console``,
``python-no-run`` ...) are not run.

The examples run twice, under 1 and 2 CPU threads: a printed number must not depend on the
machine's thread count (an example that trains fixes its own).
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass
class Example:
    line: int
    code: str
    expected: str | None


def examples(text: str) -> list[Example]:
    blocks = [(m.group(1).strip(), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]
    out = []
    for i, (lang, body, start, end) in enumerate(blocks):
        if lang != "python":
            continue
        expected = None
        if i + 1 < len(blocks):
            next_lang, next_body, next_start, _ = blocks[i + 1]
            if next_lang == "text" and not text[end:next_start].strip():
                expected = next_body
        out.append(Example(text.count("\n", 0, start) + 1, body, expected))
    return out


def normalise(output: str) -> str:
    return "\n".join(line.rstrip() for line in output.strip("\n").splitlines())


def test_examples_parser():
    text = "# T\n```python\nprint(1)\n```\n\n```text\n1\n```\n```bash\nls\n```\n```python\nx = 2\n```\n"
    found = examples(text)
    assert [(e.line, e.code, e.expected) for e in found] == [(2, "print(1)\n", "1\n"), (12, "x = 2\n", None)]


@pytest.mark.skipif(not README.exists(), reason="no README.md yet")
@pytest.mark.parametrize("threads", [1, 2])
def test_readme_examples_run(tmp_path, monkeypatch, threads):
    import torch

    found = examples(README.read_text(encoding="utf-8"))
    if not found:
        pytest.skip("README.md has no python examples")
    monkeypatch.chdir(tmp_path)
    before = torch.get_num_threads()
    try:
        for example in found:
            torch.set_num_threads(threads)
            namespace: dict[str, object] = {"__name__": "__readme__"}
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                exec(compile(example.code, f"README.md:{example.line}", "exec"), namespace)
            if example.expected is not None:
                assert normalise(buffer.getvalue()) == normalise(example.expected), (
                    f"README.md line {example.line}: printed output differs from the text block after it")
    finally:
        torch.set_num_threads(before)
