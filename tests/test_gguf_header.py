"""The GGUF header parser: it agrees with the gguf package's reader, and a cut file is a
sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.model_fixtures import offline_hub, write_tiny_gguf
from tui_ft.core.errors import UserError
from tui_ft.core.models.gguf_header import read_gguf_header
from tui_ft.core.models.info import read_model_info
from tui_ft.core.models.resolve import resolve_model


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return offline_hub(monkeypatch, tmp_path)


@pytest.fixture
def tiny_gguf(tmp_path: Path) -> Path:
    return write_tiny_gguf(tmp_path / "tiny.gguf")


def test_gguf_header_parser_agrees_with_gguf_reader(tiny_gguf: Path) -> None:
    from gguf import GGUFReader

    ours = read_gguf_header(tiny_gguf)
    reference = GGUFReader(tiny_gguf)
    assert [(t.name, t.n_elements) for t in ours.tensors] == [
        (t.name, int(t.n_elements)) for t in reference.tensors
    ]
    for key in ("general.architecture", "llama.block_count", "tokenizer.chat_template"):
        assert ours.metadata[key] == reference.fields[key].contents()
    assert ours.array_lengths["tokenizer.ggml.tokens"] == 300


def test_truncated_gguf_is_a_sentence(tiny_gguf: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_gguf.read_bytes()[:200])  # ends inside the token list
    with pytest.raises(UserError, match="not a readable GGUF file"):
        read_model_info(resolve_model(str(cut)))
