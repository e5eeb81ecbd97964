"""`tui-ft chat RUN --prompt "..."` and `tui-ft chat RUN --eval FILE|heldout`: the A/B chat
without the screen (`tui-ft chat RUN` alone opens the screen). `--with OTHER` puts another run
of the same base in the base's place. Base and tuned answer through the same chat process the app uses
(tui_ft.core.chat.client), so what the CLI shows is what the screen shows.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from tui_ft.core.chat.client import ChatClient
from tui_ft.core.chat.conversation import Answer
from tui_ft.core.chat.protocol import EVAL_MAX_NEW_TOKENS, ChatError, SamplingSettings
from tui_ft.core.chat.quick_eval import (
    EvalResult,
    eval_prompts,
    row_record,
    run_eval,
    save_eval,
    summary_sentence,
    yes_no,
)
from tui_ft.core.chat.target import ChatTarget, chat_target
from tui_ft.core.chat.transcript import answer_line
from tui_ft.core.chat.wire import ChatMessage, LoadedEvent
from tui_ft.core.errors import UserError
from tui_ft.core.safe_text import json_for_terminal, safe, safe_text

STARTUP_TIMEOUT_S = 180.0  # importing torch and friends on a busy machine
HEADLESS_FORMS = (
    'tui-ft chat RUN --prompt "Who are you?" [--json]',
    "tui-ft chat RUN --eval heldout|validation|FILE [--json]",
)


def run(args: argparse.Namespace) -> int:
    if (args.run is None) == (args.model is None):
        raise UserError("name a run (or --model REF for a base model alone).", _forms_hint())
    # Fails fast, before any loading: a typo, or two runs that cannot share a chat.
    target = chat_target(run=args.run, model=args.model, with_run=args.with_run)
    if args.eval is not None and target.other is not None:
        raise UserError(
            "a quick eval compares a run with its base model; --with does not go with --eval.",
            f"Ask both runs with --prompt, or put them side by side with `tui-ft compare "
            f"{target.other.label} {target.label}`.",
        )
    if args.prompt is None and args.eval is None:
        return _open_screen(target)
    eval_set = None
    if args.eval is not None:
        eval_set = eval_prompts(args.eval, None if target.run is None else target.config)
    client = ChatClient(models=[target.config.model])
    try:
        say(f"starting the chat process for {target.label}…")
        client.start(wait=STARTUP_TIMEOUT_S)
        loaded = client.load_and_wait(
            args.run,
            model=args.model,
            device=args.device,
            placement=args.placement,
            with_run=args.with_run,
        )
        say(_loaded_line(loaded))
        if eval_set is None:
            return _prompt(client, args, loaded)
        say(f"quick eval: {len(eval_set.prompts)} prompts from {eval_set.source}…")
        result = run_eval(
            client,
            eval_set,
            settings(args, EVAL_MAX_NEW_TOKENS),
            sides=target.sides,
            on_row=lambda i, row: say(f"  {i + 1}/{len(eval_set.prompts)} {row.prompt.prompt}"),
        )
        return _report_eval(result, target, loaded, args.json)
    except ChatError as err:
        if err.kind in ("crashed", "internal") and client.log_path is not None:
            err.hint = f"{err.hint} Log: {client.log_path}".strip()
        raise
    finally:
        client.close()


def settings(args: argparse.Namespace, default_tokens: int | None = None) -> SamplingSettings:
    sampling = SamplingSettings(
        temperature=args.temperature,
        top_p=args.top_p,
        max_new_tokens=args.max_new_tokens or default_tokens or SamplingSettings.max_new_tokens,
        repetition_penalty=args.repetition_penalty,
        greedy=args.greedy,
        seed=args.seed,
        system_prompt=args.system_prompt,
    )
    problems = sampling.problems()
    if problems:
        raise UserError(problems[0])
    return sampling


def say(line: str) -> None:
    """Progress goes to stderr: stdout holds only the answers (or the JSON). It names prompts,
    models and files, so it is made safe."""
    print(safe(line), file=sys.stderr, flush=True)


def _prompt(client: ChatClient, args: argparse.Namespace, loaded: LoadedEvent) -> int:
    sampling = settings(args)
    seed: list[int] = []
    turn: list[ChatMessage] = [{"role": "user", "content": args.prompt}]
    done = client.ask(
        {side: turn for side in loaded["sides"]},
        settings=sampling,
        on_event=lambda e: seed.append(e["seed"]) if e["event"] == "started" else None,
    )
    answers = {side: Answer.from_done(event) for side, event in done.items()}
    if args.json:
        out = {
            **_loaded_json(loaded),
            "prompt": args.prompt,
            "settings": {**sampling.to_dict(), "seed": seed[0] if seed else sampling.seed},
            **{side: answer.to_dict() for side, answer in answers.items()},
        }
        print(json_for_terminal(out, indent=2))
        return 0
    console = Console(highlight=False)
    labels = loaded.get("labels") or {}
    for side, answer in answers.items():
        console.rule(safe_text(f"{labels.get(side, side)} · {answer_line(answer)}"), align="left")
        console.print(safe_text(answer.text.strip() or "(empty answer)"))
    return 0


def _report_eval(result: EvalResult, target: ChatTarget, loaded: LoadedEvent, as_json: bool) -> int:
    # Both may carry a note (a file cut to its first prompts; where the model was placed).
    notes = [n for n in (result.meta.get("note"), loaded.get("note")) if n]
    result.meta.update(_loaded_json(loaded), note=" ".join(notes))
    saved, unsaved = None, None
    if target.run is not None:
        try:
            saved = save_eval(result, target.run.path)
        except UserError as err:  # the answers took minutes: show them, then say why
            unsaved = err
    if as_json:
        out = {
            **result.meta,
            "rows": [row_record(row) for row in result.rows],
            "summary": {
                side: dict(zip(("hits", "judged"), result.hits(side), strict=True))
                for side in result.sides
            }
            if result.has_expectations
            else None,
            "saved": {"jsonl": str(saved[0]), "md": str(saved[1])} if saved else None,
        }
        print(json_for_terminal(out, indent=2))
        return _saved_or_raise(unsaved)
    console = Console(highlight=False)
    console.print(eval_table(result))
    if result.has_expectations:
        for side in result.sides:
            console.print(summary_sentence(result, side), markup=False)
    if saved:
        console.print(safe_text(f"saved: {saved[1]} and {saved[0].name}"))
    elif unsaved is None:
        console.print("not saved: a model alone has no run directory.", markup=False)
    return _saved_or_raise(unsaved)


def _saved_or_raise(unsaved: UserError | None) -> int:
    if unsaved is not None:
        raise unsaved
    return 0


def eval_table(result: EvalResult) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_lines=True)
    table.add_column("prompt", overflow="fold", ratio=1)
    for side in result.sides:
        table.add_column(side, overflow="fold", ratio=2)
    if result.has_expectations:
        table.add_column("expected", overflow="fold")
        for side in result.sides:
            table.add_column(f"{side} ok")  # yes / no in words, never colour alone
    for row in result.rows:
        cells = [row.prompt.prompt]
        for side in result.sides:
            answer = row.answers.get(side)
            text = answer.text.strip() if answer else ""
            flags = f" [{', '.join(answer.flags)}]" if answer and answer.flags else ""
            cells.append(text + flags)
        if result.has_expectations:
            cells.append(", ".join(row.prompt.expect) or "—")
            cells += [yes_no(row.hit(side)) for side in result.sides]
        table.add_row(*(safe_text(cell) for cell in cells))  # model text is not markup
    return table


def _loaded_json(loaded: LoadedEvent) -> dict[str, Any]:
    keys = ("run", "model", "method", "kind", "device", "placement", "dtype", "note", "labels")
    return {key: loaded.get(key) for key in keys}


def _loaded_line(loaded: LoadedEvent) -> str:
    what = loaded.get("run") or loaded.get("model")
    if loaded.get("with_run"):
        what = f"{loaded['with_run']} and {what}"
    method = f"{loaded['method']} on " if loaded.get("method") else ""
    line = (
        f"loaded {what} ({method}{loaded.get('model')}) on {loaded.get('device')} "
        f"in {loaded.get('dtype')}, {loaded.get('seconds')} s"
    )
    return f"{line}. {loaded['note']}" if loaded.get("note") else line


def _open_screen(target: ChatTarget) -> int:
    """No prompt and no eval: the interactive A/B chat screen, in the app."""
    if target.run is None:
        raise UserError(
            "the chat screen opens a run; a model alone is asked from the command line.",
            _forms_hint(),
        )
    from tui_ft.ui.app import run as run_app

    return run_app(chat=target.run, chat_with=target.other.run if target.other else None)


def _forms_hint() -> str:
    return "Try: " + "  or  ".join(HEADLESS_FORMS)
