"""No network without a reason: the environment of the processes that load the model libraries.

Importing peft imports bitsandbytes, whose CPU backend asks the Hugging Face hub for a kernels
repository at import time on CPUs with AVX512-BF16 instructions; transformers and
huggingface_hub may ask it for a cached model's newest revision. A run whose model and dataset
are all on this machine needs none of that, so its processes get `HF_HUB_OFFLINE=1`. They go
online only when a model or dataset is a hub id missing from the local cache (or the caller
asked for a download), and never against the user's own HF_HUB_OFFLINE, set either way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from tui_ft.core.config import load_config
from tui_ft.core.datasets.sources import needs_download as dataset_needs_download
from tui_ft.core.errors import UserError
from tui_ft.core.models.resolve import resolve_model

OFFLINE_VAR = "HF_HUB_OFFLINE"


def needs_hub(models: Iterable[str | None] = (), datasets: Iterable[str | None] = ()) -> bool:
    """Whether one of these models or datasets must come from the hub (is not cached here)."""
    return any(_model_needs_hub(ref) for ref in models if ref) or any(
        dataset_needs_download(ref) for ref in datasets if ref
    )


def _model_needs_hub(ref: str) -> bool:
    # Resolving without download never touches the network; what it cannot find here (an
    # uncached hub id, a demo not installed, or a typo the child will explain) may need it.
    try:
        resolve_model(ref, allow_download=False, download_weights=True)
    except UserError:
        return True
    return False


def child_env(
    models: Iterable[str | None] = (),
    datasets: Iterable[str | None] = (),
    *,
    download: bool = False,
    base: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment for a child process working with these models and datasets: this one's
    (or `base`), with HF_HUB_OFFLINE=1 unless the user set it or a download is needed."""
    env = dict(os.environ if base is None else base)
    if OFFLINE_VAR not in env and not download and not needs_hub(models, datasets):
        env[OFFLINE_VAR] = "1"
    return env


def offline_here(
    models: Iterable[str | None] = (),
    datasets: Iterable[str | None] = (),
    *,
    download: bool = False,
) -> None:
    """The same rule for this process (a CLI command doing the heavy work itself): call it
    before importing the model libraries, which read the variable at import."""
    env = child_env(models, datasets, download=download)
    if OFFLINE_VAR in env:
        os.environ[OFFLINE_VAR] = env[OFFLINE_VAR]


def run_refs(config_path: Path) -> tuple[list[str], list[str]]:
    """(models, datasets) a run works with, read from its run.yaml; none when it cannot be read
    (the child then reports that itself)."""
    try:
        config = load_config(config_path)
    except UserError:
        return [], []
    return [config.model], [config.dataset]
