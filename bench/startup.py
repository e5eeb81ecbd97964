"""How fast does `tui-ft` paint its first screen, and how much memory does the UI process take?

    python bench/startup.py [--repeat 5]

Each measurement is a fresh process (interpreter start and imports included), run headless at
80×24: the time from just before the process is spawned to the first frame the app hands to
its driver, and the process's peak RSS. Three cases: a bare Textual app (the baseline, for a ratio
that holds across machines), tui-ft with no runs (the start screen) and tui-ft with three runs
(the runs list, timed until the listing is on screen). Targets (docs/architecture.md): < 1 s, < 150 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CASES = ("baseline", "start", "runs")
TARGET_S, TARGET_MB = 1.0, 150.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="processes per case (median)")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        results = {case: run_case(case, Path(tmp), args.repeat) for case in CASES}
    report(results)
    return 0


def run_case(case: str, tmp: Path, repeat: int) -> dict[str, float]:
    home = tmp / case / "runs"
    if case == "runs":
        make_runs(home)
    env = {
        **os.environ,
        "TUI_FT_HOME": str(home),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "PYTHONPATH": str(REPO),
    }
    samples = []
    for _ in range(repeat):
        # Timed from here: the kernel's process start time is only as precise as its boot time
        # (whole seconds), too coarse for a number that should be well under one second.
        spawned = time.time()
        out = subprocess.run(
            [sys.executable, __file__, "--child", case],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=60,
        ).stdout
        sample = json.loads(out.strip().splitlines()[-1])
        samples.append({"paint_s": sample["painted_at"] - spawned, "rss_mb": sample["rss_mb"]})
    return {
        "paint_s": statistics.median(s["paint_s"] for s in samples),
        "paint_min_s": min(s["paint_s"] for s in samples),
        "rss_mb": statistics.median(s["rss_mb"] for s in samples),
    }


def make_runs(home: Path) -> None:
    sys.path.insert(0, str(REPO))
    from tui_ft.core.config import RunConfig, save_config
    from tui_ft.core.runs.layout import RunDir
    from tui_ft.core.runs.status import Status

    now = time.time()
    for name, state in (("a-running", "training"), ("b-done", "completed"), ("c-failed", "failed")):
        run = RunDir.create(name, home)
        save_config(RunConfig(name=name, max_steps=100), run.config_path)
        run.write_status(Status(state, updated=now, step=50, max_steps=100))
        for step in range(1, 51):
            run.append_metrics({"step": step, "loss": 2.0 / step})


# --- in the measured process -------------------------------------------------------------


def measure(case: str) -> dict[str, Any]:
    app = baseline_app() if case == "baseline" else tui_ft_app()
    painted: list[float] = []
    display = app._display  # private, but the one place every frame passes through

    def first_frame(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is not None and not painted and ready(app, case):
            painted.append(time.time())
            app.exit()

    app._display = first_frame  # type: ignore[method-assign]
    app.run(headless=True, size=(80, 24))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"painted_at": painted[0], "rss_mb": peak_kb / 1024}


def ready(app: Any, case: str) -> bool:
    """The frame counts once it shows what the case is about (the runs list: its runs)."""
    return case != "runs" or bool(getattr(app.screen, "loaded", False))


def tui_ft_app() -> Any:
    from tui_ft.ui.app import make_app

    return make_app()


def baseline_app() -> Any:
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Static

    class Baseline(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("hello")
            yield Footer()

    return Baseline()


def report(results: dict[str, dict[str, float]]) -> None:
    base = results["baseline"]
    print(
        f"{'case':<10} {'first paint':>12} {'(best)':>8} {'ratio':>6} {'peak RSS':>10} {'ratio':>6}"
    )
    for case, r in results.items():
        print(
            f"{case:<10} {r['paint_s']:>10.3f} s {r['paint_min_s']:>6.3f} s "
            f"{r['paint_s'] / base['paint_s']:>5.2f}× {r['rss_mb']:>7.1f} MB "
            f"{r['rss_mb'] / base['rss_mb']:>5.2f}×"
        )
    worst = max(results["start"]["paint_s"], results["runs"]["paint_s"])
    rss = max(results["start"]["rss_mb"], results["runs"]["rss_mb"])
    verdict = "met" if worst < TARGET_S and rss < TARGET_MB else "missed"
    print(
        f"target < {TARGET_S:g} s and < {TARGET_MB:g} MB: {verdict} ({worst:.3f} s, {rss:.1f} MB)"
    )


if __name__ == "__main__":
    sys.exit(main())
