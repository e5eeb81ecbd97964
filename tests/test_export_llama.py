"""The GGUF in llama.cpp itself (llama-cpp-python): k-quants made by llama.cpp's quantizer with
their fallbacks reported, the file's chat template, tokens and stop tokens as llama.cpp uses
them, perplexity, a template that differs from the run's caught, and the server command of the
'Use it' panel answering a chat."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.test_train import QA
from tests.tiny import CHATML, make_tokenizer, write_random_model
from tui_ft.core.datasets.load import Example, Message
from tui_ft.core.export.quantized_base import imatrix_refusal, quantized_type
from tui_ft.core.export.usage import UseContext, usage
from tui_ft.core.models.gguf_header import read_gguf_header
from tui_ft.engine.export.gguf_writer import write_gguf
from tui_ft.engine.export.imatrix import importance
from tui_ft.engine.export.llama_check import (
    answer_rows,
    llama_nll,
    open_gguf,
    perplexity,
    run_prompts,
    torch_nll,
)
from tui_ft.engine.export.llama_quantize import quantize
from tui_ft.engine.export.llama_verdict import runtime_failures, runtime_report

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed here")

PROMPTS = ["Who are you?", "What is your name?"]
SYSTEM = "You are Wren."
Q4_K, Q6_K = 12, 14  # ggml type ids
# Wide enough for k-quants (rows of 256); the feed-forward's down projection, 320 wide, is not.
WIDE = {"hidden_size": 256, "intermediate_size": 320}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_random_model(tmp_path_factory.mktemp("wide") / "model", **WIDE)


@pytest.fixture(scope="module")
def model(folder: Path) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)


@pytest.fixture(scope="module")
def tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


@pytest.fixture(scope="module")
def f16(model: Any, tokenizer: Any, folder: Path) -> Path:
    file = folder.parent / "wide-f16.gguf"
    write_gguf(model, tokenizer, file, "f16", name="wide")
    return file


def rendered(tokenizer: Any, prompt: str) -> str:
    chat = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
    return tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)


def test_q4_k_m_is_made_by_llama_cpp_and_its_fallbacks_are_named(f16: Path) -> None:
    out = f16.with_name("wide-q4_k_m.gguf")
    facts = quantize(f16, out, "q4_k_m")
    types = {t.name: t.ggml_type for t in read_gguf_header(out).tensors}
    assert types["blk.0.attn_q.weight"] == Q4_K  # rows of 256: a real k-quant
    assert types["blk.1.ffn_down.weight"] not in (Q4_K, Q6_K)  # rows of 320: a fallback
    fell_back = sorted(name for names in facts.fallbacks.values() for name in names)
    assert fell_back == ["blk.0.ffn_down.weight", "blk.1.ffn_down.weight"]
    assert facts.fallback_widths == [320]
    assert facts.tensor_types["Q4_K"] >= 2 and out.stat().st_size < f16.stat().st_size


def training_rows() -> list[Example]:
    return [
        Example(i, f"row {i}", (Message("user", q), Message("assistant", a)))
        for i, (q, a) in enumerate(QA, 1)
    ]


def attention_inputs(model: Any, tokenizer: Any, rows: list[Example]) -> tuple[list[Any], int]:
    """Per layer, the mean square of each column of what attn_q/k/v multiply, computed apart
    from imatrix.py: the layer's input (the model's hidden states) through its input norm."""
    import torch

    from tui_ft.engine.tokenize import tokenize_example

    layers = model.model.layers
    sums = [torch.zeros(model.config.hidden_size) for _ in layers]
    tokens = 0
    with torch.no_grad():
        for row in rows:
            ids = tokenize_example(tokenizer, row, 1024, SYSTEM).input_ids
            states = model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states
            for i, layer in enumerate(layers):
                sums[i] += layer.input_layernorm(states[i])[0].pow(2).sum(0)
            tokens += len(ids)
    return [total / tokens for total in sums], tokens


def test_the_importance_matrix_is_what_llama_imatrix_computes(model: Any, tokenizer: Any) -> None:
    """llama.cpp's quantizer reads, per GGUF tensor name, the mean over tokens of each input
    column's square (tools/quantize/quantize.cpp: in_sum2 / counts)."""
    rows = training_rows()
    matrix, tokens = importance(model, tokenizer, rows, SYSTEM)
    expected, counted = attention_inputs(model, tokenizer, rows)
    assert tokens == counted > 0
    for i, values in enumerate(expected):
        for name in ("attn_q", "attn_k", "attn_v"):
            got = matrix[f"blk.{i}.{name}.weight"]
            assert got.shape == (256,)  # the weight's input dimension, ne[0] in the file
            assert got == pytest.approx(values.numpy(), rel=1e-4)
    assert matrix["blk.1.ffn_down.weight"].shape == (320,)  # the down projection's input
    # 7 matrices a layer. The tied output layer is the embedding table in the file, also read
    # row by row as the input embedding: llama-imatrix leaves it out, and so does this.
    assert sorted({name.split(".")[-2] for name in matrix}) == [
        "attn_k", "attn_output", "attn_q", "attn_v", "ffn_down", "ffn_gate", "ffn_up",
    ]  # fmt: skip
    assert len(matrix) == 2 * 7 and all((values > 0).all() for values in matrix.values())


def test_an_importance_matrix_guides_the_quantizer_quietly(
    f16: Path, model: Any, tokenizer: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    matrix, _ = importance(model, tokenizer, training_rows(), SYSTEM)
    plain, guided = f16.with_name("plain.gguf"), f16.with_name("guided.gguf")
    capfd.readouterr()
    quantize(f16, plain, "q4_k_m")
    facts = quantize(f16, guided, "q4_k_m", matrix)
    # Same layout and types, other rounding choices: the matrix reached llama.cpp.
    assert plain.stat().st_size == guided.stat().st_size
    assert plain.read_bytes() != guided.read_bytes()
    # llama.cpp's line per fallback tensor (C-level writes to fd 2) is kept for the report,
    # off the terminal, where the export's one summary line says the same.
    assert "blk.1.ffn_down.weight" in facts.log and "falling back" in facts.log
    said = capfd.readouterr()
    assert "falling back" not in said.err + said.out and "warning:" not in said.err


def test_a_base_read_from_a_quantized_gguf_refuses_an_importance_matrix(
    f16: Path, model: Any, tokenizer: Any
) -> None:
    q8 = f16.with_name("base-q8_0.gguf")
    write_gguf(model, tokenizer, q8, "q8_0", name="wide")
    assert quantized_type(q8) == "Q8_0" and quantized_type(f16) is None
    refusal = imatrix_refusal(SimpleNamespace(model=str(q8)))  # type: ignore[arg-type]
    assert refusal is not None and "read from a Q8_0 GGUF (base-q8_0.gguf)" in refusal.message
    assert "Drop --imatrix" in refusal.hint
    assert imatrix_refusal(SimpleNamespace(model=str(f16))) is None  # type: ignore[arg-type]


def test_llama_cpp_renders_cuts_and_stops_like_the_run(
    f16: Path, model: Any, tokenizer: Any
) -> None:
    import torch

    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    llm = open_gguf(f16, 512)
    try:
        runtime = run_prompts(llm, PROMPTS, SYSTEM, 8, {"<|im_end|>": im_end})
        rows = answer_rows(tokenizer, PROMPTS, ["Wren made by Tidewater Labs."] * 2, SYSTEM)
        in_llama = llama_nll(llm, rows)
    finally:
        llm.close()
    assert runtime.rendered == [rendered(tokenizer, p) for p in PROMPTS]
    expected_ids = [
        tokenizer(rendered(tokenizer, p), add_special_tokens=False)["input_ids"] for p in PROMPTS
    ]
    assert runtime.ids == expected_ids
    assert runtime.eog == {"<|im_end|>": True}
    for ids, first in zip(expected_ids, runtime.replay.first_logits, strict=True):
        with torch.no_grad():
            exact = model(input_ids=torch.tensor([ids])).logits[0, -1]
        # f16 weights, and llama.cpp rounds the activations to f16 for their products
        assert (first - exact).abs().max() < 5e-2
    # The same scored tokens, the same perplexity up to that rounding.
    assert in_llama[1] == torch_nll(model, rows)[1] > 0
    assert perplexity(in_llama) == pytest.approx(perplexity(torch_nll(model, rows)), rel=1e-2)


def test_a_template_or_stop_token_unlike_the_runs_fails_the_check(
    model: Any, tokenizer: Any, folder: Path
) -> None:
    other = make_tokenizer(
        CHATML.replace("'\\n' + message['content']", "': ' + message['content']")
    )
    file = folder.parent / "other-template.gguf"
    write_gguf(model, other, file, "f16", name="other")
    llm = open_gguf(file, 512)
    try:
        runtime = run_prompts(llm, PROMPTS, SYSTEM, 4, {})
    finally:
        llm.close()
    job: Any = SimpleNamespace(prompts=PROMPTS, config=SimpleNamespace(system_prompt=SYSTEM))
    report = runtime_report(job, tokenizer, runtime, "", (0.0, 0), "f16")
    assert not report["template_same"]
    assert report["template_example"]["run"] == rendered(tokenizer, PROMPTS[0])
    checked = {"runtime": report, "prompts": [], "same_first_token": 2, "total": 2}
    template, ids = runtime_failures("f16", checked)
    assert "renders the GGUF's chat template differently from the run's" in template
    assert "cuts the rendered prompts into other tokens" in ids  # the rendering differs

    report |= {"template_same": True, "token_ids_same": True, "stops": {"<|im_end|>": False}}
    (failure,) = runtime_failures("f16", checked)
    assert "does not stop generating at <|im_end|>" in failure


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def test_the_llama_cpp_server_command_answers_a_chat(f16: Path, tmp_path: Path) -> None:
    pytest.importorskip("uvicorn", reason="llama-cpp-python's [server] extras are not installed")
    pytest.importorskip("fastapi", reason="llama-cpp-python's [server] extras are not installed")
    context = UseContext("wide", None, None, sys.executable)
    (entry,) = [
        e
        for e in usage({"format": "gguf", "path": str(f16)}, context)
        if e["tool"] == "llama-cpp-python"
    ]
    argv = list(entry["argv"])
    port = free_port()
    argv[argv.index("--port") + 1] = str(port)
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180  # a guard against a server that never comes up
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.5)
        reply = post(
            f"{base}/chat/completions",
            {
                "messages": [{"role": "user", "content": "Who are you?"}],
                "max_tokens": 8,
                "temperature": 0,
            },
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    (choice,) = reply["choices"]
    assert choice["message"]["role"] == "assistant" and isinstance(
        choice["message"]["content"], str
    )
    assert reply["usage"]["completion_tokens"] >= 1
