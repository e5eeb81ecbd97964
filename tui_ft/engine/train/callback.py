"""The trainer's voice in the run directory: metrics.jsonl at every log, the status heartbeat
with step, ETA and the extras' share, probe answers and evaluations when the extras' budget
allows (core/runs/extras.py), complete-checkpoint markers, and the graceful stop that SIGTERM
asks for."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from transformers import TrainerCallback

from tui_ft.core.objectives import DEFAULT_OBJECTIVE, objective_named
from tui_ft.core.objectives.spec import Metric
from tui_ft.core.runs.checkpoints import write_marker
from tui_ft.core.runs.extras import EVAL_SHARE, EVALUATIONS_PER_RUN, ExtrasPlan
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.metrics import MetricsRow
from tui_ft.engine import probes
from tui_ft.engine.train.memory import GpuUtilization, memory_now
from tui_ft.engine.train.status_writer import StatusWriter


class RunDirCallback(TrainerCallback):
    def __init__(
        self,
        run: RunDir,
        status: StatusWriter,
        stop_requested: threading.Event,
        probe_prompts: list[str],
        system_prompt: str | None,
        is_main: bool,
        metrics: tuple[Metric, ...] | None = None,
        *,
        eval_every: int = 0,
        probe_every: int = 0,
        max_new_tokens: int = probes.MAX_NEW_TOKENS,
        eval_tokens: int = 0,
        step_tokens: float = 0.0,
    ) -> None:
        """`eval_every`, `probe_every`: run.yaml's forced schedules (0: within the budget).
        `eval_tokens`: the held-out split's tokens; `step_tokens`: an average optimizer step's;
        both to plan the extras from the first step's token rate."""
        self.run = run
        self.status = status
        self.stop_requested = stop_requested
        self.probe_prompts = probe_prompts
        self.system_prompt = system_prompt
        self.max_new_tokens = max_new_tokens  # of each probe answer
        self.eval_tokens = eval_tokens
        self.step_tokens = step_tokens
        self.is_main = is_main
        # The objective's metrics, read from TRL's logs (None: the default objective's).
        self.metrics = metrics or objective_named(DEFAULT_OBJECTIVE).metrics
        self.stopped = False
        self.began = False  # training began: a checkpoint to resume from has been read
        # tokens/s counts training steps only: an evaluation between two logs (the probes
        # generate answers) would read as a throughput drop at every evaluation.
        self._step_began = time.time()
        self._train_seconds = 0.0
        self._last_tokens = 0
        self._step_started = 0
        self._clock_started = time.time()
        self._gpu_util = GpuUtilization()
        self._schedule = (eval_every, probe_every)
        self.plan = ExtrasPlan(1)  # planned again from the real step count at the start
        self._extras_began: float | None = None  # when the current stretch of extras began

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.began = True
        self._clock_started = time.time()
        self._step_started = state.global_step
        self._last_tokens = state.num_input_tokens_seen
        eval_every, probe_every = self._schedule
        if getattr(args, "world_size", 1) > 1 and not eval_every:
            # Every process must evaluate at the same steps (the losses are gathered across
            # them) and their clocks differ: a fixed schedule. Probes run on the first only.
            eval_every = max(1, state.max_steps // EVALUATIONS_PER_RUN)
        self.plan = ExtrasPlan(
            state.max_steps,
            first_step=state.global_step + 1,
            eval_every=eval_every,
            probe_every=probe_every,
            evaluates=getattr(args, "eval_strategy", "no") != "no",
            probes=self.is_main and bool(self.probe_prompts),
        )
        self.status.update(state="training", step=state.global_step, max_steps=state.max_steps)

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._step_began = time.time()
        self._end_extras(self._step_began)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        now = time.time()
        self._train_seconds += now - self._step_began
        self.plan.stepped(now - self._step_began)
        self._extras_began = now
        if state.global_step == self.plan.first_step:
            self._predict(now - self._step_began, state.num_input_tokens_seen - self._last_tokens)
        if self.plan.due("probes", state.global_step):
            self._probe(kwargs.get("model"), kwargs.get("processing_class"), state.global_step)
        if getattr(args, "eval_strategy", "no") != "no":
            control.should_evaluate = self.plan.due("evaluation", state.global_step)
        if self.stop_requested.is_set() and not self.stopped:
            self.stopped = True
            control.should_save = True
            control.should_training_stop = True
        if state.global_step >= state.max_steps:
            control.should_save = True  # so `tui-ft resume --more-epochs` starts from the end
        self.status.update(
            step=state.global_step,
            epoch=state.epoch or 0.0,
            eta_s=self._eta(state),
            extras_share=round(self.plan.share, 4),
        )

    def _predict(self, seconds: float, tokens: int) -> None:
        """The plan's expectations from the first step, which took `seconds` for `tokens`: an
        average step's time, and an evaluation's (a forward pass over the held-out tokens, a
        forward taking EVAL_SHARE of a training step's time)."""
        if tokens <= 0 or seconds <= 0:
            return
        per_token = seconds / tokens
        if self.step_tokens:
            self.plan.expect_steps(self.step_tokens * per_token)
        if self.eval_tokens:
            self.plan.predict("evaluation", self.eval_tokens * per_token * EVAL_SHARE)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any
    ) -> None:
        if not self.is_main or not logs:
            return
        now = time.time()
        tokens = state.num_input_tokens_seen
        elapsed = self._train_seconds
        # The keys every run writes, checked against core/runs/metrics.py; the line starts with
        # step and epoch, then the objective's own metrics (Objective.metrics).
        common: MetricsRow = {
            "lr": logs.get("learning_rate"),
            "grad_norm": logs.get("grad_norm"),
            "tokens": tokens,
            "tokens_per_s": (tokens - self._last_tokens) / elapsed
            if elapsed > 0 and "loss" in logs
            else None,
            **memory_now(),
            "gpu_util": self._gpu_util.read(),
            "time": now,
        }
        record = {
            "step": state.global_step,
            "epoch": round(state.epoch or 0.0, 4),
            **{metric.key: logs.get(metric.log_key) for metric in self.metrics},
            **common,
        }
        if "loss" in logs:
            self._train_seconds, self._last_tokens = 0.0, tokens
        self.run.append_metrics({k: _finite(v) for k, v in record.items() if v is not None})

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._end_extras(time.time(), "evaluation")

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._end_extras(time.time())
        self._gpu_util.close()

    def _probe(self, model: Any, tokenizer: Any, step: int) -> None:
        """The probe prompts' answers now, timed as probes (on the main process only: it does
        not touch the weights; the others wait for it at the next step's gradient exchange)."""
        if not self.is_main or not self.probe_prompts:
            return
        self._end_extras(time.time())
        self.status.update(state="evaluating")
        answers = probes.answer(
            model, tokenizer, self.probe_prompts, self.system_prompt, self.max_new_tokens
        )
        for prompt, answer in zip(self.probe_prompts, answers, strict=True):
            self.run.append_probe({"step": step, "prompt": prompt, "answer": answer})
        self.status.update(state="training")
        self._end_extras(time.time(), "probes")

    def _end_extras(self, now: float, kind: str | None = None) -> None:
        """The extras since the last mark end now: count them (as `kind` when they were one)."""
        if self._extras_began is not None:
            self.plan.spent(now - self._extras_began, kind)
        self._extras_began = now

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        # HF writes checkpoint-N in place; the marker says it finished (and lists its files'
        # sizes), so a checkpoint cut short by a crash or damaged later is never resumed from.
        if self.is_main:
            folder = self.run.checkpoints_dir / f"checkpoint-{state.global_step}"
            if folder.is_dir():
                write_marker(folder)

    def _eta(self, state: Any) -> float | None:
        done = state.global_step - self._step_started
        if done <= 0 or not state.max_steps:
            return None
        per_step = (time.time() - self._clock_started) / done
        return per_step * max(0, state.max_steps - state.global_step)


def _finite(value: Any) -> Any:
    """JSON has no NaN: a diverged loss is written as the string "nan" so readers can alarm."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
