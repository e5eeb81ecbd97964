"""Asking the Hugging Face hub for a model: whether we may, what to fetch, and what went wrong.

`huggingface_hub` is imported lazily, only when a model is actually fetched; its failures are
turned into sentences a person can act on (offline, gated, no such repo, disk full).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tui_ft.core.errors import UserError
from tui_ft.core.models.hf_cache import hub_cache_dir

# Uncached hub look-ups otherwise spend ~27 s in retries before admitting there is no network.
HUB_TIMEOUT_S = 5.0

# What "information only" fetches from the hub: enough to show size, layout and chat template.
INFO_FILES = (
    "config.json",
    "generation_config.json",
    "tokenizer_config.json",
    "tokenizer.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "chat_template.json",
)
_TOKENIZER_EXTRAS = ("tokenizer.model", "vocab.json", "merges.txt", "added_tokens.json")

_TRUE = {"1", "on", "yes", "true"}


def is_offline() -> bool:
    """True when the user asked huggingface_hub / transformers never to touch the network."""
    return any(
        os.environ.get(var, "").strip().lower() in _TRUE
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def not_cached_error(repo_id: str, *, offline: bool, config_only: bool = False) -> UserError:
    """Why `repo_id` cannot be had without the hub, and how to get it."""
    where = hub_cache_dir()
    what = "has only its config files" if config_only else "is not"
    if offline:
        return UserError(
            f"{repo_id} {what} in the Hugging Face cache ({where}) and we are offline "
            "(HF_HUB_OFFLINE is set).",
            f"Unset HF_HUB_OFFLINE to download it, or run `hf download {repo_id}` on a machine "
            f"that is online and copy its models--{repo_id.replace('/', '--')} folder into "
            f"{where}.",
        )
    return UserError(
        f"{repo_id} {what} in the Hugging Face cache ({where}) and downloads are turned off.",
        f"Download it first (`hf download {repo_id}`), or pick a model that is already cached.",
    )


def fetch_model_files(repo_id: str, *, weights: bool) -> Path:
    """Ask the hub once, with a short timeout, then download config files (and weights)."""
    from huggingface_hub import HfApi, snapshot_download

    try:
        info = HfApi().model_info(repo_id, timeout=HUB_TIMEOUT_S)
    except Exception as err:  # the hub client raises its HTTP library's own error types
        explained = _explain_hub_error(repo_id, err)
        if explained is None:
            raise
        raise explained from err
    files = [s.rfilename for s in (info.siblings or [])]
    patterns = _download_patterns(files, weights=weights)
    try:
        folder = snapshot_download(
            repo_id,
            revision=info.sha,
            cache_dir=hub_cache_dir(),
            allow_patterns=patterns,
            etag_timeout=HUB_TIMEOUT_S,
        )
    except Exception as err:  # as above: network failures surface as HTTP-library errors
        explained = _explain_hub_error(repo_id, err)
        if explained is None:
            raise
        raise explained from err
    folder_path = Path(folder)
    if not (folder_path / "config.json").is_file():
        raise UserError(
            f"{repo_id} on the Hugging Face hub has no config.json, so it is not a "
            "transformers model.",
            "Pick a model repository that transformers can load (it lists a config.json).",
        )
    return folder_path


def _download_patterns(files: list[str], *, weights: bool) -> list[str]:
    """Exact file names to fetch: config and tokenizer files, plus one copy of the weights.
    Repos often carry the same weights twice (consolidated.safetensors, *.bin, GGUF, ONNX)."""
    names = set(files)
    wanted = [f for f in (*INFO_FILES, *_TOKENIZER_EXTRAS) if f in names]
    if weights:
        wanted += _weight_files(names)
    return wanted


def _weight_files(names: set[str]) -> list[str]:
    for single, index, shard in (
        (
            "model.safetensors",
            "model.safetensors.index.json",
            re.compile(r"^model-.*\.safetensors$"),
        ),
        (
            "pytorch_model.bin",
            "pytorch_model.bin.index.json",
            re.compile(r"^pytorch_model-.*\.bin$"),
        ),
    ):
        if single in names:
            return [single]
        if index in names:
            return [index, *sorted(n for n in names if shard.match(n))]
    return sorted(n for n in names if n.endswith(".safetensors") and "/" not in n)


def _explain_hub_error(repo_id: str, err: BaseException) -> UserError | None:
    """A sentence for the hub failures a person can act on; None for genuine bugs."""
    from huggingface_hub import errors as hub_errors

    if isinstance(err, hub_errors.OfflineModeIsEnabled):
        return not_cached_error(repo_id, offline=True)
    if isinstance(err, hub_errors.GatedRepoError):
        return UserError(
            f"{repo_id} is a gated model: the hub wants you to accept its licence first.",
            f"Accept it at https://huggingface.co/{repo_id}, then log in with `hf auth login`.",
        )
    if isinstance(err, hub_errors.RepositoryNotFoundError):
        return UserError(
            f"there is no model {repo_id} on the Hugging Face hub (or it is private).",
            "Check the spelling (org/name); for a private model log in with `hf auth login`.",
        )
    if isinstance(err, hub_errors.RevisionNotFoundError):
        return UserError(f"{repo_id} has no such revision on the Hugging Face hub.")
    if isinstance(err, hub_errors.HfHubHTTPError):
        status = getattr(getattr(err, "response", None), "status_code", None)
        return UserError(
            f"the Hugging Face hub answered with an error for {repo_id} (HTTP {status}).",
            "Try again in a minute; if it persists, check https://status.huggingface.co.",
        )
    if is_network_error(err):
        return UserError(
            f"{repo_id} is not in the Hugging Face cache ({hub_cache_dir()}) and the hub "
            f"could not be reached within {HUB_TIMEOUT_S:.0f} s: we are offline.",
            f"Connect to the internet, or run `hf download {repo_id}` on a machine that is "
            "online and copy the cache over; set HF_HUB_OFFLINE=1 to skip this check.",
        )
    if isinstance(err, OSError):  # the disk, not the network: full, read-only, permissions
        return UserError(
            f"downloading {repo_id} into {hub_cache_dir()} failed: {err.strerror or err}.",
            "Check the free disk space and that the cache folder is writable (or set HF_HOME).",
        )
    return None


def is_network_error(err: BaseException) -> bool:
    from huggingface_hub import errors as hub_errors

    # LocalEntryNotFoundError: the hub client's "could not reach the hub and it is not cached".
    if isinstance(err, (ConnectionError, TimeoutError, hub_errors.LocalEntryNotFoundError)):
        return True
    # httpx / requests transport errors do not derive from OSError; match them by family name
    # rather than importing whichever HTTP stack this huggingface_hub version uses.
    names = {cls.__name__ for cls in type(err).__mro__}
    return bool(
        names & {"TransportError", "RequestError", "ConnectError", "TimeoutException", "Timeout"}
    )
