"""Heavy code (torch, transformers, peft, trl): imported only in trainer, chat and CLI work processes.

Every such process comes through here first, so the one library line that reaches all of them
is quieted here: bitsandbytes (imported by peft) fetches its CPU kernel through `kernels` on
CPUs with bf16 instructions, and offline `kernels` warns each time that it skips the kernel's
publisher check. A line in every train.log, export, chat log and evaluation that asks nothing of
the person."""

import logging

logging.getLogger("kernels").setLevel(logging.ERROR)
