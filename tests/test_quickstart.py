"""quickstart.py's llama.cpp step: compiled once into a kept wheel, installed from it after."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import quickstart  # noqa: E402


def test_the_pin_is_the_gguf_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (requirement,) = project["optional-dependencies"]["gguf"]
    assert requirement == quickstart.llama_cpp_requirement()


@pytest.fixture
def calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    made: list[tuple[str, ...]] = []

    def run(*args: object, env: dict[str, str] | None = None) -> None:
        made.append(tuple(str(a) for a in args))
        if "wheel" in made[-1]:  # what pip wheel leaves behind
            (tmp_path / f"llama_cpp_python-{quickstart.LLAMA_CPP_VERSION}-py3-none-any.whl").touch()
            assert env is not None and env["CMAKE_ARGS"] == "-DGGML_NATIVE=OFF"

    monkeypatch.setenv("TUI_FT_WHEELHOUSE", str(tmp_path))
    monkeypatch.delenv("CMAKE_ARGS", raising=False)
    monkeypatch.setattr(quickstart, "run", run)
    monkeypatch.setattr(quickstart, "llama_cpp_installed", lambda python: False)
    return made


def test_llama_cpp_is_compiled_once_then_installed_from_the_kept_wheel(
    calls: list[tuple[str, ...]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quickstart.ensure_llama_cpp(Path("python"))
    out = capsys.readouterr().out
    assert "Compiling llama.cpp" in out and "about 6 minutes on 2 cores" in out
    assert str(tmp_path) in out
    compile_, install = calls
    assert compile_[:4] == ("python", "-m", "pip", "wheel")
    assert f"llama-cpp-python=={quickstart.LLAMA_CPP_VERSION}" in compile_
    assert ("--find-links", str(tmp_path)) == install[5:7] and "--only-binary" in install

    calls.clear()
    quickstart.ensure_llama_cpp(Path("python"))  # a new .venv: the kept wheel, no compile
    assert "Compiling" not in capsys.readouterr().out
    assert len(calls) == 1 and "install" in calls[0]


def test_a_failed_compile_stops_the_gates_but_not_the_app(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess

    def no_compiler(python: Path) -> None:
        raise subprocess.CalledProcessError(1, ["pip", "wheel"])

    monkeypatch.setattr(quickstart, "ensure_llama_cpp", no_compiler)
    quickstart.set_up_llama_cpp(required=False)
    assert "llama.cpp could not be compiled" in capsys.readouterr().err
    with pytest.raises(subprocess.CalledProcessError):
        quickstart.set_up_llama_cpp(required=True)
