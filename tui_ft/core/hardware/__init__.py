"""What this machine offers a run: GPUs through NVML (or a fake for tests), CPU and RAM, and which
GPU to use."""
