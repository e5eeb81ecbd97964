"""The trainer's old module name, kept for running trainers and job scripts (engine/train/main.py)."""

from tui_ft.engine.train.main import main

if __name__ == "__main__":
    raise SystemExit(main())
