#!/usr/bin/env bash
# Fetch, into .whl/, the wheels bench/gpu_check.py needs that the lent GPU machine lacks: it has
# no network, and its image holds torch, transformers, peft and accelerate but not TRL,
# datasets or bitsandbytes (/work/.library/device/KINDS.md). transformers and peft travel too, so
# the check runs the versions this project's virtualenv was tested with. The versions are read
# from .venv; the platform tags are the device tool's (Python 3.12, x86-64 manylinux). About
# 60 MB: with the working tree this stays under the 64 MiB a device call may carry.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qxF '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >>.git/info/exclude
version() { .venv/bin/python -c "from importlib.metadata import version; print(version('$1'))"; }
rm -rf .whl
python3 -m pip download -q --no-deps --only-binary=:all: -d .whl \
  --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  "trl==$(version trl)" "datasets==$(version datasets)" \
  "bitsandbytes==$(version bitsandbytes)" "dill==$(version dill)" \
  "multiprocess==$(version multiprocess)" "transformers==$(version transformers)" \
  "peft==$(version peft)"
ls -1 .whl
du -sh .whl
