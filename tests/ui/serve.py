"""``doltplane ui`` as a real subprocess on a free loopback port."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def ui_process(data_dir: Path, *extra: str) -> Iterator[str]:
    """Start ``doltplane ui --port 0``; yields its URL, stops it (this process only) after."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "doltplane.cli.main",
            "--data-dir",
            str(data_dir),
            "ui",
            "--port",
            "0",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"serving (http://127\.0\.0\.1:\d+/)", line)
        assert match, f"unexpected first line: {line!r}"
        yield match.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
