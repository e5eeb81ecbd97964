"""The supervised loss from the trained positions' logits (engine/train/kept_logits.py) equals
transformers' own next-token loss, value and gradients, for padded and padding-free batches."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tiny import write_random_model
from tui_ft.core.estimate.activations import KEPT_LOGITS_LIMIT
from tui_ft.engine.train.kept_logits import IGNORE, kept_logits_loss

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from transformers import AutoModelForCausalLM

    path = write_random_model(tmp_path_factory.mktemp("tiny") / "model")
    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)


def _labels(ids: Any, prompt: list[int], pad: list[int]) -> Any:
    """Labels that skip each row's first `prompt` tokens and last `pad` tokens."""
    labels = ids.clone()
    for row, (p, q) in enumerate(zip(prompt, pad, strict=True)):
        labels[row, :p] = IGNORE
        if q:
            labels[row, -q:] = IGNORE
    return labels


def _reference(model: Any, inputs: dict[str, Any]) -> tuple[float, list[Any]]:
    model.zero_grad()
    # Without a cache, as trainers run: transformers then reads flattened rows from position_ids.
    loss = model(**inputs, use_cache=False).loss
    loss.backward()
    return loss.item(), [p.grad.clone() for p in model.parameters()]


def _kept(model: Any, inputs: dict[str, Any], num_items: Any = None) -> tuple[float, list[Any]]:
    model.zero_grad()
    vocab = model.get_output_embeddings().weight.size(0)
    loss = kept_logits_loss(model, inputs, num_items, vocab)
    loss.backward()
    return loss.item(), [p.grad.clone() for p in model.parameters()]


def _assert_same(a: tuple[float, list[Any]], b: tuple[float, list[Any]]) -> None:
    assert a[0] == pytest.approx(b[0], rel=1e-5)
    for x, y in zip(a[1], b[1], strict=True):
        torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-6)


def test_padded_batch_matches_the_models_own_loss(model: Any) -> None:
    torch.manual_seed(1)
    ids = torch.randint(3, 60, (3, 20))
    mask = torch.ones_like(ids)
    mask[1, -4:] = 0
    mask[2, -9:] = 0
    inputs = {
        "input_ids": ids,
        "attention_mask": mask,
        "labels": _labels(ids, [6, 11, 3], [0, 4, 9]),
    }
    _assert_same(_kept(model, inputs), _reference(model, inputs))


def test_padding_free_row_matches_the_models_own_loss(model: Any) -> None:
    torch.manual_seed(2)
    lengths, prompts = [12, 7, 15], [5, 3, 9]
    ids = torch.randint(3, 60, (1, sum(lengths)))
    position_ids = torch.cat([torch.arange(n) for n in lengths]).unsqueeze(0)
    labels = ids.clone()
    start = 0
    for n, p in zip(lengths, prompts, strict=True):
        labels[0, start : start + p] = IGNORE  # each row's prompt, its first token included
        start += n
    inputs = {"input_ids": ids, "position_ids": position_ids, "labels": labels}
    _assert_same(_kept(model, inputs), _reference(model, inputs))


def test_the_count_of_accumulated_tokens_divides_the_sum(model: Any) -> None:
    ids = torch.randint(3, 60, (1, 16))
    inputs = {"input_ids": ids, "labels": _labels(ids, [4], [0])}
    mean, _ = _kept(model, inputs)
    summed, _ = _kept(model, inputs, num_items=torch.tensor(1))
    assert summed == pytest.approx(mean * 12, rel=1e-5)  # labels 4…15 are trained


def test_batches_past_the_logits_limit_take_trls_path(model: Any) -> None:
    vocab = KEPT_LOGITS_LIMIT // 16 + 1
    ids = torch.zeros((1, 16), dtype=torch.long)
    assert kept_logits_loss(model, {"input_ids": ids, "labels": ids}, None, vocab) is None
