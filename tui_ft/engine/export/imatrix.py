"""An importance matrix for llama.cpp's quantizer, from the run's own training data: for every
matrix the model multiplies activations by, the mean square of each input column over the
training tokens. Low-bit k-quants spend their precision where those activations are large
(llama.cpp's llama-imatrix computes the same from a text; here the merged float32 model already
in memory computes it, on the rows it was trained on).

It goes to llama_model_quantize as llama.cpp's null-terminated `llama_model_imatrix_data` array
(name, values, count), which llama-cpp-python exposes from 0.3.35 on.
"""

from __future__ import annotations

import ctypes
from typing import Any

from tui_ft.core.datasets.load import Example
from tui_ft.engine.export.gguf_writer import tensor_names
from tui_ft.engine.tokenize import tokenize_example

# Tokens of training data run through the model: llama-imatrix's usual 100 chunks of 512 are
# more than a fine-tune's data often has; a few thousand already settle the column means.
MAX_TOKENS = 16384
MAX_ROW = 1024


def importance(
    model: Any, tokenizer: Any, examples: list[Example], system_prompt: str | None
) -> tuple[dict[str, Any], int]:
    """GGUF tensor name -> float32 mean squared input per column, and the tokens it saw."""
    import torch

    names = tensor_names(model.config)
    sums: dict[str, Any] = {}
    counts: dict[str, int] = {}
    hooks = []

    def watch(gguf_name: str) -> Any:
        def hook(_module: Any, inputs: tuple[Any, ...], _output: Any) -> None:
            x = inputs[0].detach().float()
            x = x.reshape(-1, x.shape[-1])
            sums[gguf_name] = sums.get(gguf_name, 0) + x.pow(2).sum(0)
            counts[gguf_name] = counts.get(gguf_name, 0) + x.shape[0]

        return hook

    tied = bool(getattr(model.config, "tie_word_embeddings", False))
    for module_name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            target = names.get_name(f"{module_name}.weight", try_suffixes=(".weight",))
            # A tied output layer is token_embd.weight in the file, a table that is also read
            # row by row as the input embedding, where every column counts alike: llama-imatrix
            # collects only blk.* and output.weight, so it is quantized without a matrix.
            if target is not None and not (target == "output.weight" and tied):
                hooks.append(module.register_forward_hook(watch(target)))
    seen = 0
    device = next(model.parameters()).device
    try:
        with torch.no_grad():
            for example in examples:
                ids = tokenize_example(tokenizer, example, MAX_ROW, system_prompt).input_ids
                if not ids:
                    continue
                model(input_ids=torch.tensor([ids], device=device))
                seen += len(ids)
                if seen >= MAX_TOKENS:
                    break
    finally:
        for hook in hooks:
            hook.remove()
    matrix = {name: (sums[name] / counts[name]).cpu().numpy() for name in sums}
    return matrix, seen


def imatrix_array(llama_cpp: Any, matrix: dict[str, Any]) -> Any:
    """The C array llama_model_quantize reads (ends with an entry whose name is NULL). Each
    entry's values stay referenced by the array, so they live as long as it does."""
    import numpy as np

    entries = (llama_cpp.llama_model_imatrix_data * (len(matrix) + 1))()
    keep = []
    for i, (name, values) in enumerate(sorted(matrix.items())):
        data = np.ascontiguousarray(values, dtype=np.float32)
        keep.append(data)
        entries[i].name = name.encode()
        entries[i].data = data.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        entries[i].size = data.size
    entries._values = keep  # the buffers the pointers point into
    return entries
