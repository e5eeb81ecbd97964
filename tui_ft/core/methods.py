"""Training methods: which weights train and how they are stored (`method:` in run.yaml).

A method is orthogonal to the objective (what loss trains them, core/objectives): every objective
runs with every method. The rest of the program asks a `Method` what it needs to know (is there
an adapter, is the base quantized, which lighter method to suggest) instead of comparing names,
so this registry is the one place that knows the names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    name: str  # the run.yaml value
    title: str  # the wizard's option
    sentences: str  # what it does; what it costs and when to pick it
    adapter: bool  # trains a small adapter beside frozen base weights (saved apart from them)
    quantized: bool  # the frozen base is held in 4 bits (bitsandbytes), so it computes in 16-bit
    lighter: str | None  # the method to suggest when this one does not fit
    switch_title: str  # the advice that proposes switching to this method
    switch_why: str

    @property
    def trains_base(self) -> bool:
        """Every weight of the model trains, and the run saves a whole new model."""
        return not self.adapter


FULL = Method(
    "full",
    "Full fine-tuning",
    "Updates every weight of the model, so it can change the model the most. It needs the "
    "most memory (about 16 bytes per parameter with its optimizer) and saves a whole new "
    "model: pick it for small models or when LoRA does not learn enough.",
    adapter=False,
    quantized=False,
    lighter="lora",
    switch_title="Fine-tune every weight",
    switch_why="Changes the model the most; needs the most memory.",
)
LORA = Method(
    "lora",
    "LoRA (recommended)",
    "Freezes the model and trains small adapter matrices beside its layers, usually under "
    "1% of the weights. It needs little more memory than the model itself and saves an "
    "adapter of a few megabytes: the right start for most runs.",
    adapter=True,
    quantized=False,
    lighter="qlora",
    switch_title="Train a LoRA adapter instead",
    switch_why="Trains ~1% of the weights; the base stays.",
)
QLORA = Method(
    "qlora",
    "QLoRA",
    "LoRA on a copy of the model squeezed to 4 bits, so a model about four times larger "
    "fits in the same memory. It trains a little slower and a little less precisely than "
    "LoRA: pick it when LoRA does not fit your GPU.",
    adapter=True,
    quantized=True,
    lighter=None,
    switch_title="Switch to QLoRA",
    switch_why="Holds the base model in 4 bits; a little slower.",
)
METHODS: dict[str, Method] = {m.name: m for m in (FULL, LORA, QLORA)}
DEFAULT_METHOD = LORA.name


def method_named(name: str) -> Method:
    """The method called `name`; a config that passed validation always has one."""
    try:
        return METHODS[name]
    except KeyError:
        raise KeyError(f"no method named {name!r}; methods are {', '.join(METHODS)}") from None
