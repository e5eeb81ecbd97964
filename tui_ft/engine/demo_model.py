"""Turn a GGUF checkpoint (the demo's, or a user's) into a plain safetensors model folder.

transformers loads GGUF by dequantizing every tensor (~20 s for the 135M demo); converting once
into a safetensors folder makes every later load take ~2 s, and gives the trainer, the chat
process and PEFT an ordinary folder they all understand.

    python -m tui_ft.engine.demo_model [--force]    # convert the demo, print its folder
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tui_ft.core.errors import UserError
from tui_ft.core.models.gguf_header import read_gguf_header
from tui_ft.core.models.resolve import (
    DEMO_INSTALL_HINT,
    ResolvedModel,
    demo_cache_path,
    demo_gguf_path,
    gguf_conversion_path,
    resolve_model,
)
from tui_ft.core.paths import disk_error, ensure_writable_dir
from tui_ft.engine.disk import is_disk_full

# A temporary folder this old belongs to a conversion that died (killed, power cut).
_STALE_TMP_S = 6 * 3600
_CACHE_FIX = (
    "Free space, or set TUI_FT_CACHE to a folder you can write (the demo needs about 0.3 GB)."
)


def prepare_demo_model(force: bool = False) -> Path:
    """A folder with the demo model as safetensors, converting the packaged GGUF if needed.

    Idempotent: once the demo resolves to a folder (HF cache or converted copy) this returns it
    at once. `force` converts again from the GGUF even if a converted copy exists."""
    if not force:
        resolved = resolve_model("demo")
        if not resolved.needs_conversion:
            return resolved.path
        gguf = resolved.gguf_file
    else:
        gguf = demo_gguf_path()
    if gguf is None:
        raise UserError("the demo model's GGUF file is not installed.", DEMO_INSTALL_HINT)
    return convert_gguf(gguf, demo_cache_path(), replace=force)


def ensure_converted(resolved: ResolvedModel) -> Path:
    """A folder `from_pretrained` loads quickly: the resolved folder itself, or the safetensors
    conversion of a GGUF (the demo's in its fixed place, a user's keyed by its fingerprint)."""
    if not resolved.needs_conversion or resolved.gguf_file is None:
        return resolved.path
    if resolved.is_demo:
        return prepare_demo_model()
    return convert_gguf(resolved.gguf_file, gguf_conversion_path(resolved.gguf_file))


def convert_gguf(gguf_file: Path, target: Path, *, replace: bool = False) -> Path:
    """Dequantize `gguf_file` into a safetensors model + tokenizer folder at `target`.

    The folder is written under a temporary name next to `target` and renamed into place, so
    a half-written conversion is never mistaken for a good one. A complete `target` is kept
    unless `replace`."""
    if _is_complete(target) and not replace:
        return target
    replace = replace or target.exists()  # an incomplete folder left by hand is redone
    ensure_writable_dir(target.parent, "the model cache", _CACHE_FIX)
    _remove_stale_tmp(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp's 0700 would follow the folder into place
    try:
        try:
            _write_converted(gguf_file, tmp)
        except Exception as err:
            # safetensors and torch say "disk full" in their own words and types.
            if is_disk_full(err):
                full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                raise disk_error(full, target, "the converted model", _CACHE_FIX) from err
            raise
        if replace and target.exists():
            shutil.rmtree(target)
        try:
            os.replace(tmp, target)
        except OSError:
            # Another process finished the same conversion first: keep theirs.
            if not _is_complete(target):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _is_complete(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def _write_converted(gguf_file: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_file.parent), gguf_file.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    except _load_errors() as err:
        # transformers reads GGUF only for the architectures and tensor types it maps.
        raise UserError(
            f"transformers cannot convert {gguf_file}: {' '.join(str(err).split())}",
            "Use the original (safetensors) model from the Hugging Face hub instead.",
        ) from err
    # A GGUF-loaded model carries a quantizer marker that makes save_pretrained refuse; the
    # weights are already dequantized to float32, so the marker is only in the way.
    # PreTrainedModel sets hf_quantizer at load time without declaring it, so the type checker
    # sees torch's Module.__setattr__ (tensors and modules only).
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    dtype = getattr(torch, _saved_dtype(gguf_file))
    model = model.to(dtype)
    model.config.dtype = dtype
    max_context = getattr(model.config, "max_position_embeddings", None)
    if max_context:
        tokenizer.model_max_length = max_context  # GGUF leaves it at "unlimited"
    # Loading-time flags that transformers 5 would otherwise write into tokenizer_config.json.
    for flag in ("is_local", "local_files_only"):
        tokenizer.init_kwargs.pop(flag, None)
    model.save_pretrained(out)  # transformers 5 always writes safetensors
    tokenizer.save_pretrained(out)
    if not tokenizer.chat_template:
        # Not an error: a base model has none; the dataset step offers a default template.
        print(f"note: {gguf_file.name} carries no chat template", file=sys.stderr)


def _load_errors() -> tuple[type[Exception], ...]:
    """What from_pretrained raises for a file it cannot read. transformers 5 validates configs
    with huggingface_hub's strict dataclasses, whose errors are not ValueErrors."""
    from huggingface_hub import errors as hub_errors

    strict = getattr(hub_errors, "StrictDataclassError", None)
    return (ValueError, OSError, *([strict] if strict else []))


def _saved_dtype(gguf_file: Path) -> str:
    """The dtype to save in. Unquantized files keep theirs; quantized ones become bfloat16,
    what such checkpoints are published in: half the size of float32, and its rounding is far
    below the quantization error already in the weights."""
    file_type = read_gguf_header(gguf_file).metadata.get("general.file_type")
    unquantized = {0: "float32", 1: "float16"}
    return unquantized.get(file_type, "bfloat16") if isinstance(file_type, int) else "bfloat16"


def _remove_stale_tmp(target: Path) -> None:
    cutoff = time.time() - _STALE_TMP_S
    for leftover in target.parent.glob(f".{target.name}.tmp-*"):
        try:
            if leftover.stat().st_mtime < cutoff:
                shutil.rmtree(leftover)
        except OSError as err:
            print(f"note: could not remove {leftover}: {err}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tui_ft.engine.demo_model",
        description="Convert the demo model (SmolLM2-135M-Instruct) to safetensors once.",
    )
    parser.add_argument("--force", action="store_true", help="convert again even if cached")
    args = parser.parse_args(argv)
    try:
        path = prepare_demo_model(force=args.force)
    except UserError as err:
        print(f"error: {err.message}", file=sys.stderr)
        if err.hint:
            print(err.hint, file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
