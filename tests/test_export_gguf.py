"""GGUF and Ollama export on tiny models with real tokenizers: the file, read back by transformers,
gives the merged model's logits (exactly what f16/q8_0 rounding leaves of them), carries the
tokenizer over, and the Ollama Modelfile carries the chat template and stop tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import go_template
from tests.export_runs import PROMPTS, offline_home, qa_dataset, trained
from tests.test_train import config
from tests.tiny import CORPUS, llama_config, make_tokenizer, write_random_model
from tui_ft.cli import main
from tui_ft.core.config import save_config
from tui_ft.core.errors import UserError
from tui_ft.core.models.gguf_header import read_gguf_header
from tui_ft.core.runs.layout import RunDir
from tui_ft.core.runs.status import Status
from tui_ft.engine.export.gguf import ROUNDING_BOUND, export_gguf, export_ollama
from tui_ft.engine.export.gguf_writer import write_gguf
from tui_ft.engine.export.llama_check import llama_cpp_available

TEXTS = [
    "Hello there! How can I help you today?",
    "My name is Wren, made by Tidewater Labs in 2024.",
    "  spaces,\ttabs and\nnew lines; émigré 🙂",
]
SYSTEM_PROMPT = "You are Wren, a helpful assistant made by Tidewater Labs."
# f16 keeps 11 significant bits: on these tiny models (logits within ±2) the rounding moves a
# logit by ~1e-4; 1e-2 leaves room without letting a wrong tensor layout through.
F16_TOLERANCE = 1e-2


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with offline_home(tmp_path_factory.mktemp("gguf-home")) as base:
        yield base


@pytest.fixture(scope="module")
def tiny_llama(home: Path) -> Path:
    return write_random_model(home / "tiny-llama")


def tiny_shape(vocab_size: int) -> dict[str, Any]:
    """tests/tiny.py's Llama shape, for building other families' configs."""
    shape = llama_config(vocab_size)
    return {k: v for k, v in shape.items() if k not in ("architectures", "model_type")}


def load(folder: Path, **kwargs: Any) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **kwargs)
    return model, AutoTokenizer.from_pretrained(folder, **kwargs)


def written(model: Any, tokenizer: Any, folder: Path, quant: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_gguf(model, tokenizer, folder / "model.gguf", quant, name="tiny")
    return folder / "model.gguf"


def logits(model: Any, tokenizer: Any, text: str = TEXTS[1]) -> Any:
    import torch

    with torch.no_grad():
        return model(**tokenizer(text, return_tensors="pt")).logits[0]


def rounded_like_the_file(model: Any, quant: str) -> Any:
    """A copy whose matrices went through the file's number format and back; norms stay f32,
    as the GGUF keeps them."""
    import copy

    import gguf
    import torch

    qtype = gguf.GGMLQuantizationType[quant.upper()]
    rounded = copy.deepcopy(model)
    with torch.no_grad():
        for parameter in rounded.parameters():
            if parameter.dim() == 2:
                data = parameter.numpy()
                back = gguf.quants.dequantize(gguf.quants.quantize(data, qtype), qtype)
                parameter.copy_(torch.from_numpy(back.reshape(data.shape)))
    return rounded


# --- the file ------------------------------------------------------------------------------------


@pytest.mark.parametrize("quant", ["f16", "bf16", "q8_0"])
def test_a_gguf_read_back_gives_the_merged_models_logits(
    tiny_llama: Path, tmp_path: Path, quant: str
) -> None:
    model, tokenizer = load(tiny_llama)
    file = written(model, tokenizer, tmp_path, quant)
    back, back_tokenizer = load(tmp_path, gguf_file=file.name)

    expected, got = logits(model, tokenizer), logits(back, back_tokenizer)
    # Exactly the rounded weights: the layout (q/k permutation, names, tied output) is right.
    assert (got - logits(rounded_like_the_file(model, quant), tokenizer)).abs().max() < 1e-5
    difference = (got - expected).abs().max().item()
    if quant == "f16":
        assert difference < F16_TOLERANCE
    else:  # the bound the export's check holds bf16 and q8_0 to (export_gguf.ROUNDING_BOUND)
        assert difference / expected.std().item() < ROUNDING_BOUND

    header = read_gguf_header(file)
    types = {t.name: t.ggml_type for t in header.tensors}
    matrix = {"f16": 1, "bf16": 30, "q8_0": 8}[quant]  # ggml type ids
    assert types["blk.0.attn_q.weight"] == types["token_embd.weight"] == matrix
    assert types["blk.0.attn_norm.weight"] == types["output_norm.weight"] == 0  # F32
    assert "output.weight" not in types  # tied: llama.cpp reuses the embedding
    assert header.metadata["general.architecture"] == "llama"
    assert header.metadata["llama.rope.dimension_count"] == 16


def test_the_tokenizer_round_trips(tiny_llama: Path, tmp_path: Path) -> None:
    model, tokenizer = load(tiny_llama)
    file = written(model, tokenizer, tmp_path, "f16")
    _, back = load(tmp_path, gguf_file=file.name)

    chat = [{"role": "user", "content": "Who are you?"}]
    rendered = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    for text in [*TEXTS, rendered]:
        assert back(text)["input_ids"] == tokenizer(text)["input_ids"], text
    assert back.chat_template == tokenizer.chat_template
    assert back.apply_chat_template(chat, tokenize=False, add_generation_prompt=True) == rendered
    assert (back.eos_token, back.bos_token, back.pad_token) == (
        "<|im_end|>",
        "<|im_start|>",
        "<|endoftext|>",
    )
    assert back.decode(back("<|im_end|>")["input_ids"], skip_special_tokens=True) == ""

    metadata = read_gguf_header(file).metadata
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert metadata["tokenizer.ggml.eot_token_id"] == metadata["tokenizer.ggml.eos_token_id"]
    assert metadata["tokenizer.ggml.eot_token_id"] == im_end
    assert metadata["tokenizer.ggml.add_bos_token"] is False
    assert metadata["tokenizer.ggml.model"] == "gpt2"
    assert metadata["tokenizer.ggml.pre"] == "gpt-2"


def spm_tokenizer() -> Any:
    """A tiny SentencePiece-style tokenizer (byte fallback, ▁ for spaces), as Llama 2's and
    Mistral 7B's are, with a Mistral-like [INST] template."""
    import json as jsonlib

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaTokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Metaspace()
    bpe.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=200, show_progress=False))
    trained_bpe = jsonlib.loads(bpe.to_str())["model"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{f"<0x{i:02X}>": 3 + i for i in range(256)}}
    for token in sorted(trained_bpe["vocab"], key=trained_bpe["vocab"].get):
        vocab.setdefault(token, len(vocab))
    tokenizer = LlamaTokenizer(vocab=vocab, merges=[tuple(m) for m in trained_bpe["merges"]])
    tokenizer.chat_template = (
        "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}"
        "{{ '[INST] ' + m['content'] + ' [/INST]' }}{% else %}{{ m['content'] + eos_token }}"
        "{% endif %}{% endfor %}"
    )
    return tokenizer


@pytest.mark.parametrize("family", ["qwen2", "mistral"])
def test_qwen2_and_mistral_shaped_models_read_back(family: str, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, MistralConfig, Qwen2Config

    tokenizer = make_tokenizer() if family == "qwen2" else spm_tokenizer()
    shape = tiny_shape(len(tokenizer))
    config = Qwen2Config(**shape) if family == "qwen2" else MistralConfig(**shape)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    if family == "qwen2":  # random biases, so that losing them would show
        for layer in model.model.layers:
            torch.nn.init.normal_(layer.self_attn.q_proj.bias, std=0.5)
            torch.nn.init.normal_(layer.self_attn.k_proj.bias, std=0.5)
    file = written(model, tokenizer, tmp_path, "f16")
    back, back_tokenizer = load(tmp_path, gguf_file=file.name)

    for text in TEXTS:
        assert back_tokenizer(text)["input_ids"] == tokenizer(text)["input_ids"], text
    got, expected = logits(back, tokenizer), logits(model, tokenizer)
    assert (got - logits(rounded_like_the_file(model, "f16"), tokenizer)).abs().max() < 1e-5
    assert (got - expected).abs().max() < F16_TOLERANCE
    metadata = read_gguf_header(file).metadata
    if family == "qwen2":
        assert metadata["general.architecture"] == "qwen2"
        assert metadata["tokenizer.ggml.eot_token_id"] == tokenizer.convert_tokens_to_ids(
            "<|im_end|>"
        )
    else:  # llama.cpp runs Mistral as a Llama, with the SentencePiece vocabulary
        assert metadata["general.architecture"] == "llama"
        assert metadata["tokenizer.ggml.model"] == "llama"
        assert metadata["tokenizer.ggml.add_space_prefix"] is True


def test_llama3_rope_scaling_is_written_as_rope_freqs(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    tokenizer = make_tokenizer()
    rope = {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0}
    rope |= {"low_freq_factor": 1.0, "high_freq_factor": 4.0}
    rope["original_max_position_embeddings"] = 64
    config = LlamaConfig(**tiny_shape(len(tokenizer)), rope_parameters=rope)
    torch.manual_seed(0)
    file = written(AutoModelForCausalLM.from_config(config), tokenizer, tmp_path, "f16")
    tensors = {t.name: t for t in read_gguf_header(file).tensors}
    assert (
        tensors["rope_freqs.weight"].shape == (8,) and tensors["rope_freqs.weight"].ggml_type == 0
    )


def test_an_unsupported_architecture_is_refused_with_the_supported_ones_named(
    tmp_path: Path,
) -> None:
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config

    tokenizer = make_tokenizer()
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=1, n_head=2)
    torch.manual_seed(0)
    gpt2 = AutoModelForCausalLM.from_config(config)
    with pytest.raises(UserError) as refused:
        write_gguf(gpt2, tokenizer, tmp_path / "gpt2.gguf", "f16", name="gpt2")
    sentence = str(refused.value)
    assert "'gpt2' models are not supported" in sentence
    for family in ("Llama", "Mistral", "Qwen2"):
        assert family in sentence
    assert not (tmp_path / "gpt2.gguf").exists()

    # From a run, it is refused before any weights load: the base's config.json is enough.
    base = tmp_path / "gpt2-base"
    base.mkdir()
    tokenizer.save_pretrained(base)
    (base / "config.json").write_text(json.dumps(config.to_dict()))
    run = RunDir.create("gpt2-run")
    save_config(config_for(str(base)), run.config_path)
    run.write_status(Status("completed"))
    run.output_dir.mkdir(parents=True)
    (run.output_dir / "adapter_config.json").write_text("{}")
    assert main(["export", "gpt2-run", "--format", "ollama"]) == 1


def config_for(model: str) -> Any:
    return config(model, "demo")


# --- the export commands, on a trained run ------------------------------------------------------


@pytest.fixture(scope="module")
def run(home: Path, tiny_llama: Path) -> RunDir:
    # With a system prompt, so the Modelfile must carry one; 16 steps to answer with words.
    dataset = qa_dataset(home / "qa.jsonl")
    return trained(
        home, str(tiny_llama), dataset, method="lora", max_steps=16, system_prompt=SYSTEM_PROMPT
    )


def test_gguf_export_is_checked_against_the_adapter(
    run: RunDir, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(run.path), "--format", "gguf", "--quant", "f16"]) == 0
    captured = capsys.readouterr()
    checked = "in llama.cpp" if llama_cpp_available() else "loading the GGUF back"
    for stage in ("loading the base model", "merging", "writing", checked):
        assert stage in captured.err
    file = run.path / "export" / "gguf-f16" / f"{run.name}-f16.gguf"
    assert f"exported: {file}" in captured.out
    assert "3/3 probe answers identical to the adapter's" in captured.out
    assert "tokenizer: same token ids on 7 texts; chat template carried over" in captured.out
    assert "end of turn <|im_end|>" in captured.out

    report = json.loads((run.path / "export" / "gguf-f16.check.json").read_text())
    assert report["passed"] and report["failures"] == []
    assert report["identical"] == report["total"] == len(PROMPTS)
    assert report["max_logit_diff"] < F16_TOLERANCE and report["quant"] == "f16"
    assert any(row["export"] for row in report["prompts"]), "the tiny model learned no words"
    assert report["size_bytes"] == file.stat().st_size and report["architecture"] == "llama"
    assert report["tokenizer"]["same_ids"] and report["tokenizer"]["eot_same"]
    # Beside the file: its marker and the model card of a passed export (core/share/card.py).
    names = sorted(p.name for p in file.parent.iterdir())
    assert names == sorted([".tui-ft-export.json", "README.md", "loss.png", file.name])


def test_ollama_export_writes_the_gguf_and_a_modelfile(
    run: RunDir, capsys: pytest.CaptureFixture[str]
) -> None:
    report = export_ollama(run, quant="q8_0")
    folder = run.path / "export" / "ollama-q8_0"
    assert report["passed"] and report["quant"] == "q8_0" and report["bound"] == ROUNDING_BOUND
    assert report["max_logit_diff_share_of_spread"] <= ROUNDING_BOUND
    assert 0 <= report["identical_share"] <= 1 and report["same_first_token"] <= report["total"]
    assert report["tensor_types"]["Q8_0"] == 15 and report["tensor_types"]["F32"] == 5
    ollama = report["ollama"]
    modelfile = folder / "Modelfile"
    assert ollama["modelfile"] == str(modelfile) and ollama["template_exact"]
    assert ollama["command"] == f"ollama create {run.name} -f {modelfile}"
    assert ollama["stops"] == ["<|im_end|>", "<|im_start|>"]

    text = modelfile.read_text()
    assert f"FROM ./{run.name}-q8_0.gguf" in text and (folder / f"{run.name}-q8_0.gguf").is_file()
    assert f'SYSTEM """{SYSTEM_PROMPT}"""' in text
    assert 'PARAMETER stop "<|im_end|>"\nPARAMETER stop "<|im_start|>"' in text
    assert f"#   {ollama['command']}" in text
    template = text.split('TEMPLATE """', 1)[1].split('"""', 1)[0]
    assert '{{ else if eq .Role "user" }}<|im_start|>user\n{{ .Content }}<|im_end|>\n' in template
    # What Ollama would render from it is what the run trained on and was probed with.
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(run.output_dir)
    chat = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "Hi"}]
    expected = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    assert go_template.render(template, SYSTEM_PROMPT, chat) == expected


@pytest.mark.skipif(not llama_cpp_available(), reason="llama-cpp-python is not installed here")
def test_a_k_quant_export_is_made_and_checked_in_llama_cpp(
    run: RunDir, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(run.path), "--format", "gguf", "--quant", "q6_k"]) == 0
    said = capfd.readouterr()  # file descriptors 1 and 2: llama.cpp's C-level writes too
    out = said.out
    report = json.loads((run.path / "export" / "gguf-q6_k.check.json").read_text())
    assert report["passed"], report["failures"]
    # 64-wide rows take no k-quant: llama.cpp gives every matrix its fallback, q8_0.
    assert report["fallback_widths"] == [64, 128] and "Q6_K" not in report["tensor_types"]
    assert f"note: {len(report['fallbacks']['Q8_0'])} tensors are not q6_k" in out
    # That one line, not llama.cpp's line per tensor: those are kept in the report.
    assert "falling back" not in said.err + out and "warning: blk." not in said.err
    blocks = [name for name in report["fallbacks"]["Q8_0"] if name.startswith("blk.")]
    assert blocks and all(f"warning: {name}" in report["quantizer_log"] for name in blocks)
    runtime = report["runtime"]
    assert runtime["engine"].startswith("llama.cpp") and runtime["template_same"]
    assert runtime["token_ids_same"] and all(runtime["stops"].values())
    ppl = runtime["perplexity"]
    assert ppl["tokens"] > 0 and ppl["ratio"] <= ppl["bound"]
    assert "the run's own answers to the probe prompts" in ppl["rows_from"]
    assert "in llama.cpp (llama-cpp-python" in out and "perplexity on" in out
    assert "use it:" in out and "llama-server -m" in out


def test_a_q8_0_file_past_its_bound_fails_the_command_and_loses_no_other_export(
    run: RunDir, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui_ft.engine.export import gguf as module

    assert export_gguf is module.export_gguf
    passed = export_gguf(run, quant="f16")
    assert passed["passed"]
    capsys.readouterr()
    monkeypatch.setattr(module, "ROUNDING_BOUND", 0.0)  # any rounding at all is now too much
    assert main(["export", str(run.path), "--format", "gguf"]) == 1
    err = capsys.readouterr().err
    assert "error: the q8_0 GGUF's first-token logits moved by" in err
    assert f"kept in {run.path / 'export' / 'gguf-q8_0'}" in err
    report = json.loads((run.path / "export" / "gguf-q8_0.check.json").read_text())
    assert not report["passed"] and report["quant"] == "q8_0"
    # The failed q8_0 sits beside the passed f16, which stays as it was, with its report.
    assert (run.path / "export" / "gguf-q8_0" / f"{run.name}-q8_0.gguf").is_file()
    assert Path(passed["path"]).is_file()
    assert Path(passed["path"]).parent == run.path / "export" / "gguf-f16"
    kept = json.loads((run.path / "export" / "gguf-f16.check.json").read_text())
    assert kept["passed"] and kept["created"] == passed["created"]


def test_the_text_splitting_rule_gets_llama_cpps_name() -> None:
    from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_PRE_TOKENIZER_SPLITS

    from tui_ft.engine.export.gguf_tokenizer import _pre_name

    def split(regex: str) -> dict[str, Any]:
        return {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated"},
                {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False},
            ],
        }

    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}
    digits = {"type": "Digits", "individual_digits": True}
    assert _pre_name(byte_level) == "gpt-2"
    assert _pre_name({"type": "Sequence", "pretokenizers": [digits, byte_level]}) == "smollm"
    assert _pre_name(split(GGUF_PRE_TOKENIZER_SPLITS["llama-bpe"])) == "llama-bpe"
    assert _pre_name(split(GGUF_PRE_TOKENIZER_SPLITS["qwen2"])) == "qwen2"
    assert _pre_name(split(r"\p{L}+|\s+")) is None  # written as "default", with a note
