"""The backup modules are library code: they never import click or rich."""

from __future__ import annotations

import subprocess
import sys


def test_backup_modules_never_import_click() -> None:
    code = (
        "import sys, doltplane.backups, doltplane.remote_registry, doltplane.store.remote_server;"
        "print('click' in sys.modules or 'rich' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
