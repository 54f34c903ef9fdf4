"""Cold CLI reads: `doltplane ops get/list/agents` from a fresh process, beside the floor.

Like hyperfine: each command runs ``--rounds`` times in a new interpreter, the
order rotating every round; the table shows median and minimum wall time. The
floor rows show what no CLI can beat: starting Python, importing doltlite (it
swaps in Dolt's engine), and a raw Python + doltlite script that reads the same
row and decodes the same JSON and time.

The doltplane rows run the ``doltplane`` script as users get it: ``pip install``
of this checkout into a fresh virtual environment (``--editable`` measures the
script of the environment running the benchmark instead; an editable install
adds setuptools' import finder, about 14 ms, to every start).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAW_READ = """
import doltlite, sqlite3, json, datetime, sys
c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
r = c.execute("SELECT * FROM operational_state WHERE id = ?", (sys.argv[2],)).fetchone()
print(json.dumps({"id": r[0], "rig": r[1], "agent": r[2], "status": r[3],
                  "state": json.loads(r[4]), "version": r[5],
                  "updated_at": datetime.datetime.fromisoformat(r[6]).isoformat()}))
"""


def child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "_DOLTLITE_BOOTSTRAPPED"}


def installed_script(into: Path) -> Path:
    """``doltplane`` installed from this checkout (not editable) into a new venv at ``into``;
    its dependencies come from the running environment's versions (pip's cache)."""
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "venv", str(into)], check=True, capture_output=True)
    pip = [str(into / "bin" / "python"), "-m", "pip", "install", "-q"]
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    pins = into / "pins.txt"
    pins.write_text(frozen, "utf-8")
    subprocess.run([*pip, "-c", str(pins), str(root)], check=True)
    return into / "bin" / "doltplane"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", type=Path, default=None, help="Also write results here.")
    parser.add_argument(
        "--editable", action="store_true", help="Time this environment's own script."
    )
    args = parser.parse_args()
    env = child_env()
    with tempfile.TemporaryDirectory(prefix="doltplane-bench-cli-") as tmp:
        if args.editable:
            script = Path(sys.executable).with_name("doltplane")
        else:
            print("installing doltplane into a fresh venv (pip install ., not editable)")
            script = installed_script(Path(tmp) / "venv")
        data = Path(tmp) / "data"
        cli = [str(script), "--data-dir", str(data)]
        subprocess.run([*cli, "init"], check=True, capture_output=True, env=env)
        for n in range(20):
            subprocess.run(
                [*cli, "ops", "set", f"a{n}", "--rig", "r", "--agent", f"ag{n}",
                 "--status", "busy", "--state", '{"k": 1}'],
                check=True, capture_output=True, env=env,
            )  # fmt: skip
            subprocess.run(
                [*cli, "ops", "heartbeat", f"ag{n}"], check=True, capture_output=True, env=env
            )
        sides = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import doltlite'": [sys.executable, "-c", "import doltlite"],
            "raw python + doltlite read": [
                sys.executable, "-c", RAW_READ, str(data / "ops.db"), "a1"],
            "doltplane ops get ID --json": [*cli, "ops", "get", "a1", "--json"],
            "doltplane ops list --limit 10 --json": [
                *cli, "ops", "list", "--limit", "10", "--json"],
            "doltplane ops agents --json": [*cli, "ops", "agents", "--json"],
        }  # fmt: skip
        times: dict[str, list[float]] = {name: [] for name in sides}
        order = list(sides.items())
        for r in range(args.rounds + 1):
            shift = r % len(order)
            for name, command in order[shift:] + order[:shift]:
                started = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True, env=env)
                if r:  # the first round warms the page cache
                    times[name].append((time.perf_counter() - started) * 1000)
    load = os.getloadavg()[0]
    rows = [
        {"command": name, "median_ms": statistics.median(t), "min_ms": min(t)}
        for name, t in times.items()
    ]
    kind = "editable install" if args.editable else "pip install, not editable"
    print(f"cold CLI ({kind}), {args.rounds} rounds, rotating order, load {load:.2f}")
    print(f"{'command':40} {'median ms':>10} {'min ms':>8}")
    for row in rows:
        print(f"{row['command']:40} {row['median_ms']:10.0f} {row['min_ms']:8.0f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "load": load, "install": kind}), "utf-8")


if __name__ == "__main__":
    main()
