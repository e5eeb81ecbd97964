"""Experiment trackers a run can report to besides its own files (`report_to:` in run.yaml):
which there are, the pip package each needs, and the environment that keeps each one's records
in the run's folder and working without a network.

Our metrics.jsonl stays the monitor's source whatever is chosen: a tracker is a copy for the
tools people already use. Pure Python: the wizard lists the names, the launcher checks that the
packages are there (without importing them) and builds the trainer's environment.
"""

from __future__ import annotations

import importlib.util
import netrc
import os
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tui_ft.core.errors import UserError


@dataclass(frozen=True)
class Tracker:
    name: str  # the run.yaml value, and transformers' `report_to` name
    module: str  # what must be importable
    pip: str  # what to install for it
    folder: str  # its records, under the run's folder
    about: str  # for the docs and the wizard's help line


TRACKERS = {
    t.name: t
    for t in (
        Tracker(
            "tensorboard",
            "tensorboard",
            "tensorboard",
            "tensorboard",
            "TensorBoard event files (`tensorboard --logdir RUN/tensorboard`)",
        ),
        Tracker(
            "trackio",
            "trackio",
            "trackio",
            "trackio",
            "Trackio's local database (`TRACKIO_DIR=RUN/trackio trackio show`)",
        ),
        Tracker(
            "mlflow",
            "mlflow",
            "mlflow-skinny",
            "mlruns",
            "an MLflow file store (`mlflow ui --backend-store-uri RUN/mlruns`)",
        ),
        Tracker(
            "wandb",
            "wandb",
            "wandb",
            "wandb",
            "Weights & Biases, offline (later `wandb sync`) when there is no network or no login",
        ),
    )
}

WANDB_HOST = "api.wandb.ai"
NETWORK_TIMEOUT_S = 2.0


def unknown_trackers(names: Iterable[str]) -> list[str]:
    """The sentence for each name that is not a tracker (run.yaml's `report_to`)."""
    return [
        f"report_to: {name!r} is not a tracker; choose from {', '.join(TRACKERS)} "
        "(an empty list reports to none)."
        for name in names
        if name not in TRACKERS
    ]


def missing_tracker_error(names: Iterable[str]) -> UserError | None:
    """The trackers chosen whose package is not installed, as one sentence naming the pip
    install; None when all are there. Looks the modules up without importing them."""
    missing = [
        TRACKERS[name]
        for name in names
        if name in TRACKERS and importlib.util.find_spec(TRACKERS[name].module) is None
    ]
    if not missing:
        return None
    names_ = ", ".join(t.name for t in missing)
    return UserError(
        f"report_to names {names_}, but {'its package is' if len(missing) == 1 else 'their packages are'} "
        "not installed.",
        f"Install {'it' if len(missing) == 1 else 'them'} with `pip install "
        f"{' '.join(t.pip for t in missing)}`, or remove {names_} from report_to.",
    )


def tracker_env(
    names: Iterable[str],
    run_path: Path,
    run_name: str,
    environ: Mapping[str, str] | None = None,
    online: Callable[[], bool] | None = None,
) -> dict[str, str]:
    """The variables that send each chosen tracker's records to the run's folder (and W&B offline
    without a network or a login). A variable the user set already is left as it is: whoever
    points MLflow at a server means it."""
    environ = os.environ if environ is None else environ
    chosen = set(names)
    wanted: dict[str, str] = {}
    if "tensorboard" in chosen:
        wanted["TENSORBOARD_LOGGING_DIR"] = str(run_path / TRACKERS["tensorboard"].folder)
    if "trackio" in chosen:
        wanted["TRACKIO_DIR"] = str(run_path / TRACKERS["trackio"].folder)
    if "mlflow" in chosen:
        wanted["MLFLOW_TRACKING_URI"] = (run_path / TRACKERS["mlflow"].folder).as_uri()
        wanted["MLFLOW_EXPERIMENT_NAME"] = run_name
        # MLflow 3 keeps its file store "in maintenance mode" and refuses it unless asked: a
        # database store would need SQLAlchemy and Alembic, which mlflow-skinny leaves out.
        if "MLFLOW_TRACKING_URI" not in environ:
            wanted["MLFLOW_ALLOW_FILE_STORE"] = "true"
    if "wandb" in chosen:
        wanted["WANDB_DIR"] = str(run_path)
        wanted["WANDB_PROJECT"] = "tui-ft"
        if "WANDB_MODE" not in environ and not (online or wandb_online)():
            wanted["WANDB_MODE"] = "offline"
    return {key: value for key, value in wanted.items() if key not in environ}


def wandb_online() -> bool:
    """Whether W&B can log online from here: a key (WANDB_API_KEY or `wandb login`'s .netrc
    entry) and its server reachable. Without a key wandb would ask for one on a terminal the
    detached trainer does not have."""
    return _wandb_key() and _reachable(WANDB_HOST)


def _wandb_key() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators(WANDB_HOST) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def _reachable(host: str) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=NETWORK_TIMEOUT_S):
            return True
    except OSError:
        return False
