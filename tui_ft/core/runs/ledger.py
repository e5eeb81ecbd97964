"""What ledger.json holds: what it takes to reproduce and trust a run (the command, versions,
hardware, data, memory estimated against measured). The trainer writes it
(tui_ft.engine.train.ledger), `RunDir` reads and writes the file; see docs/run-directory.md.

Every key is optional: the file is written at the start and completed at the end, a resume
adds to it, and a reader gets {} for a missing or unreadable one. Pure Python."""

from __future__ import annotations

from typing import TypedDict

from tui_ft.core.runs.extras import ExtrasSummary
from tui_ft.core.runs.status import RunMemory


class LedgerModel(TypedDict):
    ref: str  # as written in run.yaml
    resolved: str  # what it turned out to be, in words


class LedgerDataset(TypedDict):
    source: str
    path: str | None
    format: str
    fingerprint: str  # of the content
    rows: int
    bad_rows_skipped: int
    train_examples: int
    eval_examples: int
    truncated: int  # training rows cut at max_length
    dropped_nothing_to_train: int  # rows with no trained token left
    template_note: str | None  # set when a default chat template was used


class LedgerStartFrom(TypedDict):
    """The earlier run a run began from (`start_from`, core/runs/lineage.py)."""

    run: str
    objective: str
    method: str
    output: str  # its output folder
    how: str  # adapter kept and trained further | adapter merged … | weights loaded


class LedgerGpu(TypedDict):
    index: int
    name: str | None
    memory_total: int | None


class LedgerHardware(TypedDict):
    state: str
    driver: str | None
    cuda_driver: str | None
    gpus: list[LedgerGpu]
    cpu: str | None
    ram_total: int | None


class LedgerBatching(TypedDict):
    choice: str  # padded | grouped | padding_free | packed (core/estimate/batching.py)
    why: str


class LedgerEstimate(TypedDict, total=False):
    """The estimator's prediction; only `error` when the model's size could not be read."""

    peak_bytes: int
    required_bytes: int
    peak_high_bytes: int  # the band's high figures: `fits` is judged on required_high_bytes
    required_high_bytes: int
    available_bytes: int | None
    device: str
    fits: bool | None
    terms: dict[str, int]  # bytes per term: weights, adapter, optimizer, activations, ...
    error: str


class Ledger(TypedDict, total=False):
    command: str  # the command that reproduces the run
    started: float  # when the first trainer started
    model: LedgerModel
    method: str
    objective: str
    start_from: LedgerStartFrom | None  # None: from the model itself
    precision: str  # resolved from `auto`
    world_size: int
    dataset: LedgerDataset
    probe_prompts: list[str]
    versions: dict[str, str | None]  # None: not installed
    python: str
    hardware: LedgerHardware
    batching: LedgerBatching
    estimate: LedgerEstimate
    extras: ExtrasSummary  # what evaluations, probes and checkpoints cost the run
    argv: list[str]
    resumed: list[float]  # when each resume started
    measured: RunMemory  # the measured peak (no `estimate_bytes`)
    final_state: str  # completed | stopped | failed
    finished: float
