"""The alerts and doctor libraries never print: no click or rich, even when they run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_alerts_and_doctor_never_import_click_or_rich(tmp_path: Path) -> None:
    code = (
        "import sys, pathlib, doltplane.alerts as a, doltplane.doctor as d;"
        "from doltplane.config import Settings;"
        f"p = pathlib.Path({str(tmp_path)!r});"
        "e = a.Evaluator(a.default_rules(), log=lambda line: None);"
        "e.evaluate({'server_up': 0.0}, 0); e.evaluate({'server_up': 0.0}, 60);"
        "a.export_prometheus_rules(a.load_rules(a.ensure_rules_file(p)));"
        "d.run_doctor(Settings(data_dir=p));"
        "print('click' in sys.modules or 'rich' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
