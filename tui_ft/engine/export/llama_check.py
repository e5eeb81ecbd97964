"""The GGUF run in llama.cpp itself (through llama-cpp-python), the runtime people run it in:
the chat template read from the file's metadata and rendered as llama-cpp-python's server
renders it (Jinja, with the file's own BOS/EOS), the prompt cut into tokens by the file's
tokenizer, answers generated greedily until a token llama.cpp counts as an end of generation
(EOG), and the perplexity of held-out rows.

Each is compared with the run's model by the caller (see gguf.py): a template or stop token
that differs from the run's is the usual "works in training, rambles in Ollama" fault, and it
shows here as a different prompt, different token ids, or an answer that does not stop.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_ft.core.datasets.load import Example, Message
from tui_ft.engine.export.check import Replay
from tui_ft.engine.export.llama_quantize import require_llama_cpp
from tui_ft.engine.tokenize import render, with_system_prompt

# Room for the longest prompt or row and its answer; rows past it are cut, as training cut them.
MAX_CONTEXT = 2048


@dataclass(frozen=True)
class Row:
    """One scored row: its token ids and which of them count (the trained answer tokens)."""

    ids: list[int]
    scored: list[int]  # positions in ids whose token is predicted and scored


@dataclass
class Runtime:
    """What llama.cpp made of the run's prompts."""

    replay: Replay  # answers and first-token logits, as the transformers side has them
    rendered: list[str]  # each prompt as llama.cpp's template rendering gave it
    ids: list[list[int]]  # ... and as its tokenizer cut it
    stopped: list[bool]  # whether each answer ended on an end-of-generation token
    eog: dict[str, bool] = field(default_factory=dict)  # token text -> counted as EOG
    engine: str = ""
    nll: tuple[float, int] = (0.0, 0)  # held-out rows: summed NLL of the scored tokens, count


def llama_cpp_available() -> bool:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


def open_gguf(path: Path, n_ctx: int) -> Any:
    """The file loaded on the CPU, every position's logits kept (for the perplexity)."""
    llama_cpp = require_llama_cpp("checking a GGUF in llama.cpp")
    threads = os.cpu_count() or 1
    return llama_cpp.Llama(
        model_path=str(path),
        n_ctx=n_ctx,
        n_batch=n_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        n_gpu_layers=0,
        logits_all=True,
        verbose=False,
    )


def engine_name() -> str:
    import llama_cpp

    return f"llama.cpp (llama-cpp-python {llama_cpp.__version__})"


def run_prompts(
    llm: Any,
    prompts: list[str],
    system_prompt: str | None,
    max_new_tokens: int,
    watch: dict[str, int],
) -> Runtime:
    """Answer each prompt greedily in llama.cpp; `watch` names tokens (text -> id) whose EOG
    status the report shows (the run's EOS and end-of-turn tokens)."""
    import torch

    formatter = _formatter(llm)
    vocab = _vocab(llm)
    rendered, ids, answers, firsts, stopped = [], [], [], [], []
    for prompt in prompts:
        messages = with_system_prompt([Message("user", prompt)], system_prompt)
        chat = [{"role": m.role, "content": m.content} for m in messages]
        text = formatter(messages=chat).prompt
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        new, first, ended = _greedy(llm, vocab, tokens, max_new_tokens)
        rendered.append(text)
        ids.append(tokens)
        firsts.append(torch.from_numpy(first.copy()))
        stopped.append(ended)
        answers.append(llm.detokenize(new).decode("utf-8", errors="replace").strip())
    eog = {text: _is_eog(vocab, token) for text, token in watch.items()}
    return Runtime(Replay(answers, firsts), rendered, ids, stopped, eog, engine_name())


def _formatter(llm: Any) -> Any:
    """The template stored in the file, rendered the way llama-cpp-python's server renders a
    template it does not know by name (Jinja, trimmed blocks, the file's BOS and EOS texts)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise ValueError("the GGUF has no chat template")
    return Jinja2ChatFormatter(
        template=template,
        eos_token=_text(llm, llm.token_eos()),
        bos_token=_text(llm, llm.token_bos()),
    )


def _text(llm: Any, token: int) -> str:
    if token < 0:
        return ""
    return llm.detokenize([token], special=True).decode("utf-8", errors="replace")


def _vocab(llm: Any) -> Any:
    import llama_cpp

    return llama_cpp.llama_model_get_vocab(llm.model)


def _is_eog(vocab: Any, token: int) -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_vocab_is_eog(vocab, token))


def _greedy(llm: Any, vocab: Any, prompt: list[int], limit: int) -> tuple[list[int], Any, bool]:
    """The answer's tokens (without the one that ended it), the logits of its first token, and
    whether an EOG token ended it within `limit` tokens. Greedy: the highest logit, as
    llama.cpp's greedy sampler takes it."""
    llm.reset()
    llm.eval(prompt)
    first = llm.scores[llm.n_tokens - 1]
    logits, new = first, list[int]()
    for _ in range(limit):
        token = int(logits.argmax())
        if _is_eog(vocab, token):
            return new, first, True
        new.append(token)
        if llm.n_tokens + 1 >= llm.n_ctx():
            break
        llm.eval([token])
        logits = llm.scores[llm.n_tokens - 1]
    return new, first, False


# --- perplexity ----------------------------------------------------------------------------------


def scored_rows(
    tokenizer: Any, examples: list[Example], system_prompt: str | None, limit: int
) -> list[Row]:
    """Held-out examples as the trainer tokenized them, scored on its trained (answer) tokens."""
    from tui_ft.engine.tokenize import tokenize_example

    rows = []
    for example in examples[:limit]:
        tokenized = tokenize_example(tokenizer, example, MAX_CONTEXT, system_prompt)
        ids, mask = list(tokenized.input_ids), list(tokenized.completion_mask)
        scored = [i for i in range(1, len(ids)) if mask[i]]
        if scored:
            rows.append(Row(ids, scored))
    return rows


def answer_rows(
    tokenizer: Any, prompts: list[str], answers: list[str], system: str | None
) -> list[Row]:
    """Each prompt with the run's own answer to it, scored on the answer: for runs without
    held-out rows."""
    rows = []
    for prompt, answer in zip(prompts, answers, strict=True):
        messages = with_system_prompt([Message("user", prompt)], system)
        head = tokenizer(render(tokenizer, messages, True), add_special_tokens=False)["input_ids"]
        tail = tokenizer(answer, add_special_tokens=False)["input_ids"]
        if tail:
            rows.append(Row([*head, *tail], list(range(len(head), len(head) + len(tail)))))
    return rows


def llama_nll(llm: Any, rows: list[Row]) -> tuple[float, int]:
    """Summed negative log-likelihood of the scored tokens, and how many there were."""
    import numpy as np

    total, count = 0.0, 0
    for row in rows:
        llm.reset()
        llm.eval(row.ids)
        logits = np.asarray(llm.scores[: len(row.ids)], dtype=np.float64)
        for position in row.scored:
            total += _nll(logits[position - 1], row.ids[position])
            count += 1
    return total, count


def torch_nll(model: Any, rows: list[Row]) -> tuple[float, int]:
    """The same, from a transformers model (the run's float32 model)."""
    import torch

    total, count = 0.0, 0
    device = next(model.parameters()).device
    with torch.no_grad():
        for row in rows:
            logits = model(input_ids=torch.tensor([row.ids], device=device)).logits[0]
            logprobs = torch.log_softmax(logits.double(), dim=-1)
            for position in row.scored:
                total -= float(logprobs[position - 1, row.ids[position]])
                count += 1
    return total, count


def _nll(logits: Any, token: int) -> float:
    import numpy as np

    top = float(logits.max())
    return top + math.log(float(np.exp(logits - top).sum())) - float(logits[token])


def perplexity(nll: tuple[float, int]) -> float:
    total, count = nll
    return math.exp(total / count) if count else float("nan")
