"""Every code block in README.md and docs/*.md that claims an output is run here.

The convention (for whoever writes docs):

- A fenced ```` ```python ```` block that prints (contains ``print(``) must be followed, as
  the next fenced block of the file, by an ```` ```output ```` block holding exactly what it
  prints. Prose may sit between the two.
- The test runs the python block in a fresh temporary directory as the working directory
  (so ``doltplane.connect()`` makes ``./.doltplane`` there), with no ``DOLTPLANE_*``
  variables set, and compares its standard output with the output block. ``...`` in the
  output block matches any text (for hashes, times, generated ids).
- A block that prints nothing (an API sketch, or one that needs a network) claims no
  output and is not run. docs/cli.md is generated from ``--help`` and checked by
  tests/test_docs.py instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "cli.md")]
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclasses.dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    text: str

    def __str__(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{self.line}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    return [
        Block(page, text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2))
        for m in FENCE.finditer(text)
    ]


def examples(pages: list[Path]) -> list[tuple[Block, Block | None]]:
    """Each python block that prints, with the output block after it (None if missing)."""
    found: list[tuple[Block, Block | None]] = []
    for page in pages:
        page_blocks = blocks(page)
        for n, block in enumerate(page_blocks):
            if block.lang != "python" or "print(" not in block.text:
                continue
            after = page_blocks[n + 1] if n + 1 < len(page_blocks) else None
            found.append((block, after if after is not None and after.lang == "output" else None))
    return found


def output_matches(expected: str, actual: str) -> bool:
    pattern = ".*?".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual, flags=re.DOTALL) is not None


def run_block(block: Block, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in list(os.environ):
        if name.startswith("DOLTPLANE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(workdir)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block.text, str(block), "exec"), {"__name__": "__doc_example__"})
    return out.getvalue()


EXAMPLES = examples(PAGES)


def test_every_printing_block_shows_its_output() -> None:
    missing = [str(code) for code, output in EXAMPLES if output is None]
    assert not missing, f"python blocks that print need an ```output block next: {missing}"
    orphans = [
        str(b)
        for page in PAGES
        for prev, b in zip([None, *blocks(page)], blocks(page), strict=False)
        if b.lang == "output" and (prev is None or prev.lang != "python")
    ]
    assert not orphans, f"```output blocks must follow a python block: {orphans}"


def test_the_readme_has_a_checked_example() -> None:
    assert any(code.page.name == "README.md" for code, output in EXAMPLES if output)


@pytest.mark.parametrize(
    ("code", "output"), [e for e in EXAMPLES if e[1] is not None], ids=lambda b: str(b)
)
def test_example_prints_what_the_docs_say(
    code: Block, output: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    actual = run_block(code, tmp_path, monkeypatch)
    assert output_matches(output.text, actual), f"{code} printed:\n{actual}"


def test_the_checker_can_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nprint('a', 1)\n```\n\n```output\na 2\n```\n\n```python\nprint(0)\n```\n"
    )
    [(code, output), (_silent, none)] = examples([page])
    assert output is not None and none is None
    assert not output_matches(output.text, run_block(code, tmp_path, monkeypatch))
    assert output_matches("a ...\n", "a 1\n") and not output_matches("a ...\n", "b 1\n")
