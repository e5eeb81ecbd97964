"""Did the disk fill up? Asked of whatever stopped a write: the trainer's checkpoints and model,
the demo model's unpacking; an exception counts when it, or one it was raised from, says so."""

from __future__ import annotations

import errno
from collections.abc import Iterator

_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# Writers that report a full disk in their own words: safetensors ("No space left on device
# (os error 28)", its own SafetensorError) and torch.save (a failed stream write, which
# names no cause; torch's reader fails in the same source file, so only the writer's words).
_FULL_TEXTS = ("no space left on device", "os error 28", "disk quota exceeded", "os error 122")
_TORCH_WRITE_FAILED = ("pytorchstreamwriter", "iostream error", "unexpected pos")


def is_disk_full(err: BaseException) -> bool:
    for link in _chain(err):
        if isinstance(link, OSError) and link.errno in _FULL_ERRNOS:
            return True
        text = str(link).lower()
        if any(words in text for words in _FULL_TEXTS + _TORCH_WRITE_FAILED):
            return True
    return False


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = err
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__
