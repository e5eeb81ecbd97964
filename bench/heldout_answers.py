"""The held-out answers of the base model and of trained LoRA adapters, judged the same way for
every side: `bench/run_wall.py` runs this after its timed runs.

    python bench/heldout_answers.py SPEC.json OUT.json

SPEC.json: `model` (a tui-ft model reference), `cases` (`prompt`, `expect` words) and
`adapters` (side name → adapter folder). Each side answers every prompt greedily through the
model's chat template (tui_ft/engine/probes.py, what the trainer's probes do); an answer is a
hit when it says every expected word, case-insensitively, and opens with any word marked by a
leading `^` (tui_ft/core/datasets/demos.py `says`, as `tui-ft chat --eval` judges).
OUT.json: side → list of {prompt, answer, hit}, the base model's under `base`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui_ft.core.datasets.demos import says
from tui_ft.core.models.resolve import resolve_model


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    out = Path(sys.argv[2])

    import torch
    from peft import PeftModel

    from tui_ft.engine import probes
    from tui_ft.engine.model_loading import load_model, load_tokenizer

    model_ref = resolve_model(spec["model"])
    device = "cuda:0" if torch.cuda.is_available() else "cpu"
    tokenizer = load_tokenizer(model_ref)
    cases = spec["cases"]
    prompts = [case["prompt"] for case in cases]

    def judged(answers: list[str]) -> list[dict[str, Any]]:
        return [
            {"prompt": case["prompt"], "answer": text, "hit": says(text, tuple(case["expect"]))}
            for case, text in zip(cases, answers, strict=True)
        ]

    base = load_model(model_ref, dtype=torch.float32, device=device)
    results = {"base": judged(probes.answer(base, tokenizer, prompts))}
    for side, folder in spec["adapters"].items():
        fresh = load_model(model_ref, dtype=torch.float32, device=device)
        tuned = PeftModel.from_pretrained(fresh, folder)
        results[side] = judged(probes.answer(tuned, tokenizer, prompts))
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
