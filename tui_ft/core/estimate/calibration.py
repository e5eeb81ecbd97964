"""The few figures of the estimate that cannot be derived from the code that allocates memory,
with where each comes from, and how uncertain each term is (the band of the estimate).

Everything else in core/estimate is counted: parameters from the config, what autograd saves
from reading each op (and checked with saved-tensor hooks, docs/vram-cpu-calibration.md).

Sources:

- Allocator reserve (reserved over allocated at the peak). torchtune's QLoRA tutorial
  (https://github.com/pytorch/torchtune/blob/main/docs/source/tutorials/qlora_finetune.rst)
  publishes one run's peak allocated and peak reserved memory side by side: "LoRA 13.98 GB
  15.57 GB / QLoRA 9.13 GB 9.29 GB", i.e. +11.4% and +1.8%. The band spans them; the point
  keeps the 5% the estimate has always used (the GPU grid of bench/vram_accuracy.py, when a GPU
  is lent, is the check).
- cuBLAS workspace: torch allocates cuBLAS(Lt)'s workspace through its caching allocator, 32
  MiB per handle on Hopper (torch's `getChosenWorkspaceSize`, CUBLAS_WORKSPACE_CONFIG
  `:4096:8` = 32 MiB); a second stream (the optimizer's, autograd's) may take another.
- CUDA context: the driver's context and torch's kernels, seen by NVML but not by torch: about
  0.5 GiB with lazy module loading (CUDA 11.7+, torch's default), up to ~1 GiB on older stacks
  or where NCCL and cuDNN load their kernels.
- Activations: the CPU grid (bench/saved_tensors.py) matches saved-tensor hooks within 5% per
  case; a GPU's kernels can keep a little more (flash-attention's padded log-sum-exp, cuDNN
  attention's workspace), hence +10% on the high side.
"""

from __future__ import annotations

MIB = 1024**2
GIB = 1024**3

ALLOCATOR_RESERVE = 0.05  # point: reserved over allocated
ALLOCATOR_RESERVE_LOW = 0.018  # torchtune QLoRA, peak reserved 9.29 GB vs allocated 9.13 GB
ALLOCATOR_RESERVE_HIGH = 0.114  # torchtune LoRA, peak reserved 15.57 GB vs allocated 13.98 GB
CUBLAS_WORKSPACE = 32 * MIB
CUBLAS_WORKSPACE_HIGH = 2 * CUBLAS_WORKSPACE  # a second stream's handle
CUDA_CONTEXT = 512 * MIB
CUDA_CONTEXT_LOW = 384 * MIB
CUDA_CONTEXT_HIGH = 1 * GIB
CPU_RUNTIME = 768 * MIB  # Python, torch, transformers, TRL and the tokenizer, resident
CPU_RUNTIME_LOW = 512 * MIB
CPU_RUNTIME_HIGH = 1 * GIB

# Relative low and high of each term (factors on its point figure). Counted terms (parameters,
# their gradients and optimizer states) are exact; the rest carry the uncertainty of what they
# model. The attention mask's low is 0: it exists only when the padded rows differ in length.
UNCERTAINTY: dict[str, tuple[float, float]] = {
    "weights": (1.0, 1.0),
    "adapter": (1.0, 1.0),
    "gradients": (1.0, 1.0),
    "optimizer": (1.0, 1.0),
    "reference": (1.0, 1.0),
    "activations": (0.95, 1.10),
    "attention": (0.0, 1.0),
    "logits": (0.90, 1.10),  # the loss path's buffers are read from its code; frees may lag
    "recompute": (0.90, 1.25),
    "backward": (0.50, 1.50),
    "step": (1.0, 1.0),  # gradients in flight: when each is freed depends on the graph
    "kv_cache": (1.0, 1.0),
    # A 4-bit weight dequantized for one matmul: whether that matmul falls at the moment's
    # peak depends on the graph.
    "dequant": (0.0, 1.0),
    # The previous micro-batch held by the loop: it may have been shorter than this one.
    "stale": (0.0, 1.0),
    # Sampling's cache is freed before the step: its blocks may serve the step, or stay apart.
    "generation": (0.0, 1.0),
    # vLLM colocated takes its share of the GPU at its start and holds it: exactly that much.
    "vllm": (1.0, 1.0),
}
