"""The model card (README.md) of what a run produced, as a Hub user expects one: YAML metadata the
Hub reads (`base_model`, `library_name`, `license`, `datasets`, `pipeline_tag`, `tags`), then what
was trained and how, the loss curve, evaluations, answers before and after, and how to run it.

Built from the run's own files (run.yaml, ledger.json, metrics.jsonl, probes.jsonl, evals/, the
export's check report), never from a loaded model: pure Python. Outside text (prompts, answers,
names) is escaped so it can neither break the Markdown tables nor bring HTML into the card.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tui_ft import __version__
from tui_ft.core.config import RunConfig, load_config
from tui_ft.core.export.report import check_sentence
from tui_ft.core.methods import method_named
from tui_ft.core.objectives import objectives
from tui_ft.core.runs.jsonl_tail import read_jsonl
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.ledger import Ledger
from tui_ft.core.runs.metrics import as_number
from tui_ft.core.share.base_model import BaseModel, base_model
from tui_ft.core.share.evals import Answers, Score, answers, benchmark_scores
from tui_ft.core.share.plot import loss_png
from tui_ft.core.units import format_bytes, format_count, format_duration
from tui_ft.core.versions import LIBRARIES as VERSIONED

CARD = "README.md"
PLOT = "loss.png"
LIBRARIES = {"adapter": "peft", "merged": "transformers", "gguf": "gguf"}
# The ledger's versions a reader of the card cares about: the ML stack, which versions.py lists
# first (the ledger records the UI's libraries too).
TRAINING_LIBRARIES = VERSIONED[: VERSIONED.index("bitsandbytes") + 1]
_HUB_DATASET = re.compile(r"^([A-Za-z0-9][\w.\-]{0,95}/[\w.\-]{1,96})(:[\w.\-]+)?$")


@dataclass(frozen=True)
class CardFiles:
    """What the card consists of: README.md's text and the loss curve (None: no metrics)."""

    readme: str
    plot: bytes | None

    def write(self, folder: Path) -> list[Path]:
        written = [folder / CARD]
        (folder / CARD).write_text(self.readme, encoding="utf-8")
        if self.plot is not None:
            (folder / PLOT).write_bytes(self.plot)
            written.append(folder / PLOT)
        return written


@dataclass(frozen=True)
class RunFacts:
    """Everything the card tells, read once from the run's folder."""

    run: RunDir
    config: RunConfig
    ledger: Ledger
    metrics: list[dict[str, Any]]
    base: BaseModel
    scores: list[Score]
    answers: Answers | None

    @classmethod
    def read(cls, run: RunDir) -> RunFacts:
        config = load_config(run.config_path)
        return cls(
            run,
            config,
            run.read_ledger(),
            read_jsonl(run.metrics_path),
            base_model(config.model),
            benchmark_scores(run),
            answers(run),
        )


def model_card(
    facts: RunFacts,
    kind: str,
    *,
    repo_id: str | None = None,
    location: str = "",
    check: dict[str, Any] | None = None,
) -> CardFiles:
    """The card of `kind` (adapter, merged or gguf). `repo_id`: where it is pushed (the usage
    snippets name it), else `location` (a local folder or file); `check`: the export's check
    report, whose verdict the card quotes."""
    where = repo_id or location or "PATH"
    plot = _plot(facts.metrics)
    parts = [
        _front_matter(facts, kind),
        _title(facts, kind, repo_id),
        _training(facts),
        _loss_section(facts.metrics, plot is not None),
        _check_section(check),
        _scores_section(facts.scores),
        _answers_section(facts.answers),
        _usage(facts, kind, where, repo_id is not None, check),
        _footer(facts),
    ]
    return CardFiles("\n".join(part for part in parts if part), plot)


# --- metadata ------------------------------------------------------------------------------------


def metadata(facts: RunFacts, kind: str) -> dict[str, Any]:
    """The YAML block, in the order the Hub's own cards use; keys without a known value left out."""
    config = facts.config
    tags = ["tui-ft", "trl", config.objective, config.method]
    if kind == "gguf":
        tags += ["gguf", "llama.cpp"]
    data: dict[str, Any] = {
        "base_model": facts.base.repo_id,
        "library_name": LIBRARIES[kind],
        "license": facts.base.license,
        "datasets": _hub_datasets(facts),
        "pipeline_tag": "text-generation",
        "tags": list(dict.fromkeys(tags)),
    }
    return {key: value for key, value in data.items() if value}


def _front_matter(facts: RunFacts, kind: str) -> str:
    text = yaml.safe_dump(metadata(facts, kind), sort_keys=False, allow_unicode=True)
    return f"---\n{text}---\n"


def _hub_datasets(facts: RunFacts) -> list[str] | None:
    """The dataset's Hub id when it came from the Hub (`org/name` or `org/name:split`)."""
    ref = facts.config.dataset
    match = _HUB_DATASET.match(ref)
    if match is None or Path(ref).expanduser().exists():
        return None
    return [match.group(1)]


# --- sections -------------------------------------------------------------------------------------


def _title(facts: RunFacts, kind: str, repo_id: str | None) -> str:
    config = facts.config
    name = repo_id.split("/")[-1] if repo_id else facts.run.name
    base = _base_link(facts.base)
    what = {
        "adapter": f"A {method_named(config.method).title.split(' (')[0]} adapter for {base}",
        "merged": f"{base} fine-tuned"
        + ("" if method_named(config.method).trains_base else " (its LoRA adapter merged in)"),
        "gguf": f"{base} fine-tuned, as GGUF for llama.cpp, Ollama and LM Studio",
    }[kind]
    objective = objectives().get(config.objective)
    how = objective.title if objective is not None else config.objective
    if how[1:2].islower():  # "Supervised fine-tuning", not "DPO: prefer ..."
        how = how[0].lower() + how[1:]
    return (
        f"# {_md(name)}\n\n{what}, trained with {how} (`{config.objective}`) by tui-ft, "
        f"a terminal app for fine-tuning, as its run `{_md(facts.run.name)}`.\n"
    )


def _base_link(base: BaseModel) -> str:
    if base.repo_id:
        return f"[{base.repo_id}](https://huggingface.co/{base.repo_id})"
    return f"`{_md(base.ref)}`"


def _training(facts: RunFacts) -> str:
    rows = [(key, value) for key, value in training_facts(facts) if value]
    table = "\n".join(f"| {key} | {_cell(value)} |" for key, value in rows)
    return f"## Training\n\n| | |\n|---|---|\n{table}\n"


def training_facts(facts: RunFacts) -> list[tuple[str, str]]:
    """(what, value) lines of the training table, in words."""
    config, ledger = facts.config, facts.ledger
    method = method_named(config.method)
    method_text = config.method
    if method.adapter:
        targets = config.lora.targets
        targets_text = targets if isinstance(targets, str) else ", ".join(targets)
        method_text += (
            f" (rank {config.lora.rank}, alpha {config.lora.alpha}, dropout "
            f"{config.lora.dropout:g}, on {targets_text}{', DoRA' if config.lora.dora else ''})"
        )
    if method.quantized:
        method_text += f"; base in 4-bit {config.qlora.quant_type}"
    world = int(ledger.get("world_size", 1) or 1)
    effective = config.batch_size * config.grad_accum * world
    batch = f"{config.batch_size} × {config.grad_accum} accumulation"
    batch += f" × {world} processes" if world > 1 else ""
    lines = [
        ("Objective", config.objective),
        ("Method", method_text),
        ("Started from", _start_from(ledger)),
        ("Precision", str(ledger.get("precision", config.precision))),
        (
            "Learning rate",
            f"{config.learning_rate:g}, {config.lr_scheduler}, warmup {config.warmup_ratio:g}",
        ),
        ("Length", _length(facts)),
        ("Batch", f"{batch} = {effective} rows a step"),
        ("Max length", f"{config.max_length} tokens"),
        ("Optimizer", f"{config.optimizer}, weight decay {config.weight_decay:g}"),
        ("Seed", str(config.seed)),
        ("Data", _data(facts)),
        ("Tokens seen", _tokens(facts.metrics)),
        ("Final loss", _final_losses(facts.metrics)),
        ("Wall time", _wall_time(ledger)),
        ("Hardware", _hardware(ledger)),
    ]
    return lines


def _start_from(ledger: Ledger) -> str:
    start = ledger.get("start_from")
    if not start:
        return ""
    return f"run {start.get('run')} ({start.get('objective')}, {start.get('method')}): {start.get('how')}"


def _length(facts: RunFacts) -> str:
    config = facts.config
    steps = [int(row["step"]) for row in facts.metrics if isinstance(row.get("step"), int)]
    planned = f"{config.max_steps} steps" if config.max_steps else f"{config.epochs:g} epochs"
    epoch = max((as_number(row.get("epoch")) or 0.0 for row in facts.metrics), default=0.0)
    done = f"; {max(steps)} optimizer steps, {epoch:.2f} epochs done" if steps else ""
    return planned + done


def _data(facts: RunFacts) -> str:
    dataset = facts.ledger.get("dataset")
    ref = facts.config.dataset
    # A local file is named by its file name only: the card must not publish a home folder.
    shown = Path(ref).name if Path(ref).expanduser().exists() else ref
    if not dataset:
        return shown
    text = (
        f"{shown} ({dataset.get('format', '?')}): {dataset.get('rows', '?')} rows, "
        f"{dataset.get('train_examples', '?')} trained on, {dataset.get('eval_examples', '?')} "
        "held out"
    )
    if dataset.get("truncated"):
        text += f", {dataset['truncated']} cut at max length"
    if dataset.get("fingerprint"):
        text += f"; fingerprint `{dataset['fingerprint']}`"
    return text


def _tokens(metrics: list[dict[str, Any]]) -> str:
    tokens = [row["tokens"] for row in metrics if isinstance(row.get("tokens"), int)]
    return f"{format_count(max(tokens))} ({max(tokens):,})" if tokens else ""


def _final_losses(metrics: list[dict[str, Any]]) -> str:
    parts = []
    for key, what in (("loss", "training"), ("eval_loss", "evaluation")):
        values = [(row.get("step"), as_number(row.get(key))) for row in metrics if key in row]
        if values:
            step, value = values[-1]
            shown = f"{value:.4g}" if value is not None and math.isfinite(value) else "diverged"
            parts.append(f"{what} {shown} (step {step})")
    return "; ".join(parts)


def _wall_time(ledger: Ledger) -> str:
    started, finished = ledger.get("started"), ledger.get("finished")
    if not started or not finished:
        return ""
    resumed = len(ledger.get("resumed", []))
    text = format_duration(finished - started)
    if resumed:
        text += f" from first start to finish, resumed {resumed} time{'s' if resumed > 1 else ''}"
    return text


def _hardware(ledger: Ledger) -> str:
    hardware = ledger.get("hardware")
    if not hardware:
        return ""
    gpus = [gpu.get("name") or "GPU" for gpu in hardware.get("gpus", [])]
    world = int(ledger.get("world_size", 1) or 1)
    used = gpus[:world] if gpus else []
    if used:
        names = sorted(set(used))
        return ", ".join(f"{used.count(name)} × {name}" for name in names)
    cpu = hardware.get("cpu") or "CPU"
    ram = hardware.get("ram_total")
    return f"CPU only: {cpu}" + (f", {format_bytes(ram)} RAM" if ram else "")


def _plot(metrics: list[dict[str, Any]]) -> bytes | None:
    def series(key: str) -> list[tuple[float, float]]:
        points = []
        for row in metrics:
            step, value = as_number(row.get("step")), as_number(row.get(key))
            if step is not None and value is not None:
                points.append((step, value))
        return points

    return loss_png(series("loss"), series("eval_loss"))


def _loss_section(metrics: list[dict[str, Any]], has_plot: bool) -> str:
    if not has_plot:
        return ""
    evals = any("eval_loss" in row for row in metrics)
    legend = "training loss (blue)" + (" and evaluation loss (orange, dots)" if evals else "")
    return f"## Loss\n\n![Loss by optimizer step]({PLOT})\n\n*{legend.capitalize()} by optimizer step.*\n"


def _check_section(check: dict[str, Any] | None) -> str:
    if not check:
        return ""
    try:
        sentence = check_sentence(check)
    except (KeyError, TypeError, ValueError):  # a report of another version
        return ""
    verdict = "passed" if check.get("passed") else "did not pass"
    what = check.get("quant") or check.get("dtype") or ""
    size = format_bytes(check["size_bytes"]) if isinstance(check.get("size_bytes"), int) else ""
    head = ", ".join(part for part in (what, size) if part)
    return (
        f"## Export check\n\nThe exported model{f' ({head})' if head else ''} was loaded back and "
        f"answered the run's prompts; the check {verdict}: {_md(sentence)}.\n"
    )


def _scores_section(scores: Sequence[Score]) -> str:
    if not scores:
        return ""
    lines = [
        "## Evaluation",
        "",
        "| Task | Metric | Base | Tuned | Change |",
        "|---|---|---|---|---|",
    ]
    for s in scores:
        change = f"{s.tuned - s.base:+.4g}" if s.base is not None and s.tuned is not None else ""
        if change and s.stderr is not None:
            change += f" (± {s.stderr:.2g})"
        lines.append(
            f"| {_cell(s.task)} | {_cell(s.metric)} | {_score(s.base)} | {_score(s.tuned)} | {change} |"
        )
    return "\n".join(lines) + "\n"


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _answers_section(found: Answers | None) -> str:
    if found is None or not found.rows:
        return ""
    lines = [
        "## Answers before and after",
        "",
        f"From {found.source}, answered greedily:",
        "",
        f"| Prompt | {found.before_label.capitalize()} | {found.after_label.capitalize()} |",
        "|---|---|---|",
    ]
    lines += [f"| {_cell(a.prompt)} | {_cell(a.before)} | {_cell(a.after)} |" for a in found.rows]
    return "\n".join(lines) + "\n"


def _usage(
    facts: RunFacts, kind: str, where: str, on_hub: bool, check: dict[str, Any] | None
) -> str:
    base = facts.base.repo_id or facts.base.ref
    chat = '[{"role": "user", "content": "Hello! Who are you?"}]'
    if kind == "adapter":
        return (
            "## How to use\n\nWith transformers and peft (the base model is downloaded by its id):\n\n"
            "```python\nfrom transformers import pipeline\n\n"
            f'chat = pipeline("text-generation", model="{where}")\n'
            f'print(chat({chat}, max_new_tokens=128)[0]["generated_text"][-1]["content"])\n```\n\n'
            "Served by vLLM next to its base model:\n\n"
            f"```bash\nvllm serve {base} --enable-lora --lora-modules "
            f"{facts.run.name}={where}\n```\n"
        )
    if kind == "merged":
        return (
            "## How to use\n\nA standalone model; with transformers:\n\n"
            "```python\nfrom transformers import pipeline\n\n"
            f'chat = pipeline("text-generation", model="{where}")\n'
            f'print(chat({chat}, max_new_tokens=128)[0]["generated_text"][-1]["content"])\n```\n\n'
            f"```bash\nvllm serve {where}\n```\n"
        )
    file_name = Path(str(check.get("path", ""))).name if check else ""
    if on_hub:
        quant = f":{check['quant'].upper()}" if check and check.get("quant") else ""
        commands = f"llama-server -hf {where}{quant}\nollama run hf.co/{where}{quant}"
    else:  # `where` is the file itself, or its folder
        local = where if where.endswith(".gguf") or not file_name else str(Path(where) / file_name)
        commands = f"llama-server -m {local}"
    return (
        "## How to use\n\nThe chat template and stop tokens are in the GGUF's metadata:\n\n"
        f"```bash\n{commands}\n```\n"
    )


def _footer(facts: RunFacts) -> str:
    versions = facts.ledger.get("versions") or {}
    listed = ", ".join(
        f"{name} {versions[name]}" for name in TRAINING_LIBRARIES if versions.get(name)
    )
    made = f"Made with tui-ft {__version__}" + (f"; trained with {_md(listed)}" if listed else "")
    return f"## Framework versions\n\n{made}.\n"


# --- escaping --------------------------------------------------------------------------------------


def _md(text: Any) -> str:
    """Outside text inside Markdown: no HTML, no table breaks, one line."""
    text = " ".join(str(text).split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: Any) -> str:
    return _md(text).replace("|", "\\|") or " "
