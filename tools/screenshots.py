"""Regenerate the SVG screenshots in docs/screenshots/ from the app itself.

The app runs headless (Textual's `run_test` driven by a Pilot) with the UI tests' fakes from
tests/ui/: a fixed clock, a fake 24 GB GPU (or none), fabricated run folders, a scripted chat
client and a scripted export. Every picture is 100×30 and the same on every run: the runs home
is a fixed path, so no folder of this machine shows.

    python tools/screenshots.py                  # all of them, into docs/screenshots/
    python tools/screenshots.py --only chat      # one (repeat --only for more)
    python tools/screenshots.py --list           # the names
    python tools/screenshots.py --out DIR        # somewhere else

The dataset step answers from tests/fixtures/inspect_demo.json, the canned `data inspect`
report of the demo data the tests use: the picture is the same as with the real preview (checked
text for text), which `--real-dataset` runs instead (the helper process loads the tokenizer:
about 45 s on a busy 2-core machine, a couple of seconds for the canned one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "ui"))  # the UI tests' fakes and helpers, reused as is
sys.path.insert(0, str(ROOT))  # and what they import from tests/

# The imports below need that path.
# ruff: noqa: E402
import fake_chat
import test_ui_snapshots as snapshots
import test_wizard_settings as settings_tests
from fake_chat import FakeChat, FakeChats
from test_chat_screen import ask, open_chat
from test_export_screen import exporting, ollama_report, open_export
from test_wizard_flow import RecordingLauncher
from test_wizard_steps import FakePreview, model_shown
from textual.widgets import DataTable, Input
from ui_helpers import NOW, NoGpuBackend, app_for, three_runs, wait_for

import tui_ft.core.chat.quick_eval as quick_eval
from tests.fake_children import FakeRunner
from tui_ft.core.chat.transcript import fresh_stem
from tui_ft.core.hardware.snapshot import FakeBackend
from tui_ft.ui.chat.eval import QuickEvalScreen
from tui_ft.ui.runs.monitor import MonitorScreen
from tui_ft.ui.wizard.dataset import DatasetStep
from tui_ft.ui.wizard.method import MethodStep
from tui_ft.ui.wizard.review import ReviewScreen
from tui_ft.ui.wizard.settings import SettingsStep

DEFAULT_OUT = ROOT / "docs" / "screenshots"
# Shown on the monitor, runs list and export screens: the same on every machine.
DEFAULT_HOME = Path("/tmp/tui-ft-screenshots/runs")
SIZE = (100, 30)
# The wizard's steps as a walk through it on the CPU and on a 24 GB GPU take them ("": none).
CPU_WALK = ["model", "method", "dataset", "settings-cpu", "review"]
GPU_WALK = ["", "", "", "settings-24gb", ""]
NAMES = [*CPU_WALK, "settings-24gb", "runs", "monitor", "chat", "eval", "export"]

# What the base and the tuned demo model answered to the held-out prompts, recorded from the app.
ANSWERS = {
    row["prompt"]: row
    for row in json.loads((ROOT / "tools" / "screenshots_answers.json").read_text("utf-8"))[
        "answers"
    ]
}
PROBES = list(ANSWERS)[:4]  # the trainer's probe prompts for the demo: the first four
ASKED = "What name were you given?"  # the chat picture's question


class DemoChat(FakeChat):
    """The tests' scripted chat client; its quick eval answers what the demo model answered."""

    def ask(self, messages: dict[str, Any], **options: Any) -> dict[str, Any]:
        events = super().ask(messages, **options)
        recorded = ANSWERS[self.asked[-1]]
        return {side: {**event, **recorded[side]} for side, event in events.items()}


class DemoChats(FakeChats):
    def __call__(self, on_event: Callable[[dict[str, Any]], None]) -> FakeChat:
        client = DemoChat(on_event, self.load_error)
        self.clients.append(client)
        return client


def _environment(home: Path) -> None:
    """What the tests' fixtures set: offline, colours on, caches and config out of ~."""
    scratch = home.parent
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TUI_FT_HOME"] = str(home)
    os.environ["XDG_DATA_HOME"] = str(scratch / "data")
    os.environ["XDG_CONFIG_HOME"] = str(scratch / "config")
    # An empty tui-ft cache: the demo resolves to the GGUF in its package, whose description
    # names no folder of this machine (the converted copy's would).
    os.environ["TUI_FT_CACHE"] = str(scratch / "cache")
    for name in ("NO_COLOR", "TUI_FT_FAKE_GPU", "HF_TOKEN"):
        os.environ.pop(name, None)
    os.environ["TZ"] = "UTC"  # run names and file stamps are local times of the fixed clock
    time.tzset()


class Camera:
    """Saves the app's screen as NAME.svg when NAME was asked for."""

    def __init__(self, out: Path, wanted: Iterable[str]) -> None:
        self.out = out
        self.wanted = set(wanted)
        self.written: list[Path] = []

    def wants(self, *names: str) -> bool:
        return bool(self.wanted.intersection(names))

    async def take(self, pilot: Any, name: str) -> None:
        if name not in self.wanted:
            return
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # the same picture each time
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        path = self.out / f"{name}.svg"
        path.write_text(pilot.app.export_screenshot(title=f"tui-ft: {name}"), encoding="utf-8")
        self.written.append(path)
        print(f"wrote {path}")


async def _steady(pilot: Any) -> None:
    """The GPU line read, nothing loading."""
    app = pilot.app
    await wait_for(pilot, lambda: snapshots.header_ready(app))
    await wait_for(pilot, lambda: not any(w.loading for w in app.screen.query("*")), seconds=60)
    await pilot.pause()


# --- the wizard -------------------------------------------------------------------------------


async def wizard(camera: Camera, home: Path, shots: list[str], gpu: bool, canned: bool) -> None:
    """A new user's walk with the defaults (demo model, LoRA, the demo data) on a machine
    without a GPU or with a 24 GB one; `shots` names the picture of each step, "" for none."""
    wanted = [name in camera.wanted for name in shots]
    if not any(wanted):
        return
    last = max(i for i, want in enumerate(wanted) if want)
    runner = FakePreview() if canned else None  # None: the real `data inspect` process
    backend = FakeBackend(settings_tests.ONE_24GB) if gpu else NoGpuBackend()
    app = app_for(home, hardware_backend=backend, launcher=RecordingLauncher(), runner=runner)
    async with app.run_test(size=SIZE) as pilot:
        await model_shown(pilot)
        await _steady(pilot)
        await camera.take(pilot, shots[0])
        if last == 0:
            return
        await pilot.press("enter")  # the demo's details are shown: enter goes on
        await wait_for(pilot, lambda: isinstance(app.screen, MethodStep))
        await _steady(pilot)
        await camera.take(pilot, shots[1])
        if last == 1:
            return
        await pilot.press("enter")  # LoRA, highlighted
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetStep))
        screen = app.screen
        await wait_for(pilot, lambda: screen.report is not None and screen.pending is None, 120)
        await _steady(pilot)
        await camera.take(pilot, shots[2])
        if last == 2:
            return
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsStep))
        screen = app.screen
        await wait_for(pilot, lambda: settings_tests.settled(screen), seconds=60)
        await settings_tests.layout_at_rest(pilot, screen)
        await _steady(pilot)
        await camera.take(pilot, shots[3])
        if last == 3:
            return
        os.chdir(home.parent)  # the command names a YAML file in the working folder
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        await _steady(pilot)
        await camera.take(pilot, shots[4])


# --- runs, the monitor, chat and export -------------------------------------------------------


def demo_runs(home: Path) -> dict[str, Any]:
    """The tests' three runs (training, completed, failed), their probes answered the way the
    demo's model answers: as the base model at first, as Wren once it has learnt."""
    runs = three_runs(home)
    for run in runs.values():
        if not run.probes_path.exists():
            continue
        lines = run.probes_path.read_text(encoding="utf-8").splitlines()
        steps = sorted({json.loads(line)["step"] for line in lines if line.strip()})
        run.probes_path.unlink()
        for step in steps:
            side = "base" if step <= 40 else "tuned"
            for prompt in PROBES:
                run.append_probe(
                    {"step": step, "prompt": prompt, "answer": ANSWERS[prompt][side]["text"]}
                )
    done = runs["done"]
    done.output_dir.mkdir(parents=True, exist_ok=True)
    (done.output_dir / "adapter_config.json").write_text("{}")  # the chat looks for it
    return runs


async def runs_and_monitor(camera: Camera, home: Path) -> None:
    demo_runs(home)
    app = app_for(home)
    async with app.run_test(size=SIZE) as pilot:
        await snapshots.settled()(pilot)
        # The list takes the focus a moment after it fills: its cursor row shows it.
        await wait_for(pilot, lambda: isinstance(app.focused, DataTable))
        await camera.take(pilot, "runs")
        if camera.wants("monitor"):
            await snapshots.settled(opens="demo-lora-running")(pilot)
            await camera.take(pilot, "monitor")


async def chat_and_eval(camera: Camera, home: Path) -> None:
    """The A/B chat and its quick eval on a machine without a GPU, in the demo model's words."""
    runs = demo_runs(home)
    chats = DemoChats()
    fake_chat.LOADED.update(device="cpu", dtype="fp32")  # as the chat process says on a CPU
    # The table is saved under a name stamped with the wall clock: the fixed one instead.
    quick_eval.fresh_stem = lambda folder, suffixes: fresh_stem(folder, suffixes, now=NOW)
    app = app_for(home, hardware_backend=NoGpuBackend(), runner=FakeRunner(chats=chats))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_chat(pilot, runs["done"])
        screen.query_one("#chat-input", Input).cursor_blink = False
        await ask(pilot, screen, ASKED)
        client = chats.client
        client.started()
        for side in ("base", "tuned"):
            answer = ANSWERS[ASKED][side]
            seconds = round(answer["new_tokens"] / answer["tokens_per_s"], 2)
            rid = client.last_generate["id"]
            client.emit({"event": "done", "id": rid, "side": side, "seconds": seconds, **answer})
        await wait_for(pilot, lambda: screen.phase == "ready")
        await camera.take(pilot, "chat")
        if camera.wants("eval"):
            await pilot.press("ctrl+t")
            await wait_for(pilot, lambda: isinstance(app.screen, QuickEvalScreen))
            evaluation = app.screen
            await pilot.press("enter")  # `heldout`: the demo's held-out identity prompts
            await wait_for(pilot, lambda: evaluation.result is not None and not evaluation.running)
            await camera.take(pilot, "eval")


async def export(camera: Camera, home: Path) -> None:
    runs = demo_runs(home)
    report = ollama_report(runs["done"].path)
    app = app_for(home, runner=exporting(report))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_export(pilot, app)
        await pilot.press("down", "enter", "x")  # Ollama, then export
        await wait_for(pilot, lambda: screen.state == "done")
        await camera.take(pilot, "export")


# --- the command ------------------------------------------------------------------------------


async def take_all(camera: Camera, home: Path, canned_dataset: bool) -> None:
    MonitorScreen.POLL_S = 0.05  # as in the tests: the replay settles sooner
    groups: list[tuple[tuple[str, ...], Callable[[], Awaitable[None]]]] = [
        (tuple(CPU_WALK), lambda: wizard(camera, home, CPU_WALK, False, canned_dataset)),
        (tuple(GPU_WALK), lambda: wizard(camera, home, GPU_WALK, True, canned_dataset)),
        (("runs", "monitor"), lambda: runs_and_monitor(camera, home)),
        (("chat", "eval"), lambda: chat_and_eval(camera, home)),
        (("export",), lambda: export(camera, home)),
    ]
    for names, shoot in groups:
        if camera.wants(*names):
            fresh_scratch(home)  # each group starts from nothing
            cwd = Path.cwd()
            try:
                await shoot()
            finally:
                os.chdir(cwd)
    shutil.rmtree(home.parent)


MARK = ".tui-ft-screenshots"  # in the scratch folder: this script made it, and may wipe it


def scratch_problem(home: Path) -> str:
    """Why the folder holding `home` must not be used (and wiped), or ""."""
    scratch = home.parent
    if home.name != "runs":
        return "--home must end in a folder named `runs`: its parent folder is scratch space."
    if scratch.exists() and any(scratch.iterdir()) and not (scratch / MARK).exists():
        return f"{scratch} holds files this script did not make: name a new or empty folder."
    return ""


def fresh_scratch(home: Path) -> None:
    shutil.rmtree(home.parent, ignore_errors=True)
    home.mkdir(parents=True)
    (home.parent / MARK).write_text("scratch space of tools/screenshots.py\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=NAMES, metavar="NAME",
                        help=f"take only this one (repeatable): {', '.join(NAMES)}")  # fmt: skip
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the SVG files")
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME,
                        help="runs home to build the pictures' runs in; it shows on some "
                        "screens, and its parent folder is scratch space, removed at the end "
                        f"(default {DEFAULT_HOME})")  # fmt: skip
    parser.add_argument("--real-dataset", action="store_true",
                        help="the dataset step inspects the demo data (slow) instead of "
                        "answering from tests/fixtures/inspect_demo.json")  # fmt: skip
    parser.add_argument("--list", action="store_true", help="print the names and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(NAMES))
        return 0
    problem = scratch_problem(args.home.absolute())
    if problem:
        parser.error(problem)
    args.out.mkdir(parents=True, exist_ok=True)
    home = args.home.absolute()
    _environment(home)
    camera = Camera(args.out.absolute(), args.only or NAMES)
    started = time.monotonic()
    asyncio.run(take_all(camera, home, not args.real_dataset))
    print(f"{len(camera.written)} screenshot(s) in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
