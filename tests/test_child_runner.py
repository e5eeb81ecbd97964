"""The one runner of `tui-ft … --json` children (core.children.runner), against stand-in
scripts: its own session, lines streamed or output collected, a cancel that kills the whole
group, the exit decoded and the command's `error:`/`hint:` lines read back as a UserError."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time

import psutil

from tui_ft.core.children.runner import (
    ChildCommand,
    ChildProcess,
    ChildResult,
    from_cli_output,
    signal_name,
)


def start(script: str, **env: str) -> ChildProcess:
    return ChildProcess(ChildCommand([sys.executable, "-c", textwrap.dedent(script)], env=env))


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_collect_reads_both_streams_and_the_environment() -> None:
    child = start(
        """
        import json, os, sys
        print("loading", file=sys.stderr)
        names = ("PYTHONUNBUFFERED", "PYTHONIOENCODING", "MINE")
        print(json.dumps({name: os.environ.get(name) for name in names} | {"pad": "a" * 200_000}))
        sys.exit(3)
        """,
        MINE="x",
    )
    result = child.collect()
    report = result.report()
    assert report is not None and report["pad"] == "a" * 200_000  # more than a pipe holds
    del report["pad"]
    assert report == {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", "MINE": "x"}
    assert (result.stderr, result.returncode, result.cancelled) == ("loading\n", 3, False)


def test_a_child_has_a_session_of_its_own_and_cancel_kills_all_of_it() -> None:
    child = start(
        """
        import subprocess, sys, time
        grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        print(grandchild.pid, file=sys.stderr)
        time.sleep(600)
        """
    )
    lines = child.lines()
    grandchild = int(next(lines))
    assert os.getsid(child.pid) == child.pid != os.getsid(0)
    child.cancel()
    assert list(lines) == []
    result = child.collect()
    assert result.cancelled and result.returncode == -9
    for _ in range(600):  # the group's SIGKILL reaches it at once; its reaping may lag
        if gone(grandchild):
            break
        time.sleep(0.05)
    assert gone(grandchild)
    child.cancel()  # a second cancel, after the end, is harmless


def test_collect_kills_a_child_once_called_off() -> None:
    child = start("import time; time.sleep(600)")
    result = child.collect(cancelled=lambda: True)
    assert result.cancelled and result.returncode == -9


def test_streamed_lines_keep_a_progress_bars_last_state_and_are_cut() -> None:
    child = start(
        """
        import sys
        print("bar  10%\\rbar 100%", file=sys.stderr)
        print("", file=sys.stderr)
        print("x" * 600, file=sys.stderr)
        """
    )
    lines = list(child.lines())
    assert lines[0] == "bar 100%" and len(lines) == 2
    assert len(lines[1]) == 500 and lines[1].endswith("…")
    assert child.collect().stderr.splitlines() == lines


def test_the_exit_and_the_commands_sentences() -> None:
    assert signal_name(-9) == "SIGKILL" and signal_name(-200) == "200"
    said = from_cli_output(
        "error: an earlier one\n"
        "Traceback: noise\n"
        "error: x.jsonl was not found\nin /data.\n"
        "hint: Check the name.\nOr the folder.\n"
    )
    assert said is not None
    assert (said.message, said.hint) == (
        "x.jsonl was not found\nin /data.",
        "Check the name.\nOr the folder.",
    )
    assert from_cli_output("Killed\n") is None
    result = ChildResult(json.dumps([1, 2]), "\nlast words  \n\n", 1)
    assert result.report() is None and result.last_line() == "last words"
