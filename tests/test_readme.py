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


NUMBER = re.compile(r"\d+(\.\d+)?(e[-+]?\d+)?")


def recorded_with(text: str) -> str | None:
    """The torch release the README's outputs were printed with: the one its test command installs."""
    command = text.partition("<!-- test-command -->")[2].partition("<!-- /test-command -->")[0]
    match = re.search(r"torch==([0-9.]+)", command)
    return match.group(1) if match else None


def same_output(printed: str, expected: str, exact: bool) -> bool:
    """Exactly the recorded text on the torch it was recorded with. Another torch release rounds
    differently (its kernels and BLAS differ in the last bits, and training amplifies that), so
    there the text must match with every number masked: same lines, same words, same formats."""
    if exact:
        return normalise(printed) == normalise(expected)
    return NUMBER.sub("#", normalise(printed)) == NUMBER.sub("#", normalise(expected))


def test_examples_parser():
    text = "# T\n```python\nprint(1)\n```\n\n```text\n1\n```\n```bash\nls\n```\n```python\nx = 2\n```\n"
    found = examples(text)
    assert [(e.line, e.code, e.expected) for e in found] == [(2, "print(1)\n", "1\n"), (12, "x = 2\n", None)]


def test_outputs_of_another_torch_match_numbers_aside():
    text = "<!-- test-command -->\n```bash\npip install torch==2.13.0 -e .\n```\n<!-- /test-command -->"
    assert recorded_with(text) == "2.13.0"
    assert same_output("loss 0.0405, accuracy 70.4%\n", "loss 0.0405, accuracy 70.4%", exact=True)
    assert not same_output("loss 0.0411, accuracy 71.1%", "loss 0.0405, accuracy 70.4%", exact=True)
    assert same_output("loss 0.0411, accuracy 71.1%", "loss 0.0405, accuracy 70.4%", exact=False)
    assert not same_output("loss 0.0411, accuracy 71.1", "loss 0.0405, accuracy 70.4%", exact=False)


@pytest.mark.skipif(not README.exists(), reason="no README.md yet")
@pytest.mark.parametrize("threads", [1, 2])
def test_readme_examples_run(tmp_path, monkeypatch, threads):
    import torch

    text = README.read_text(encoding="utf-8")
    found = examples(text)
    exact = recorded_with(text) == torch.__version__.split("+")[0]
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
                how = "" if exact else f" (numbers aside: printed by torch {torch.__version__})"
                assert same_output(buffer.getvalue(), example.expected, exact), (
                    f"README.md line {example.line}: printed output differs from the text block after it{how}"
                    f"\n{normalise(buffer.getvalue())}")
    finally:
        torch.set_num_threads(before)
