"""Chart series from metrics records: bounded, NaN-free, GPU memory preferred over RSS."""

from __future__ import annotations

from tui_ft.core.runs.series import GIB, RunSeries, thin


def test_series_take_each_key_and_skip_what_cannot_be_drawn() -> None:
    series = RunSeries()
    changed = series.add(
        [
            {"step": 1, "loss": 2.0, "lr": 1e-4, "grad_norm": 1.5, "tokens_per_s": 900.0},
            {"step": 2, "loss": "nan", "lr": 2e-4},
            {"step": 2, "eval_loss": 1.8},
            {"loss": 1.0},  # no step: cannot be placed
        ]
    )
    assert changed == {"loss", "eval_loss", "lr", "grad_norm", "tokens_per_s"}
    assert series.xy("loss") == ([1.0], [2.0])
    assert series.xy("eval_loss") == ([2.0], [1.8])
    assert series.xy("lr") == ([1.0, 2.0], [1e-4, 2e-4])
    assert series.records == 4


def test_memory_shows_the_gpu_once_it_is_known() -> None:
    series = RunSeries()
    series.add([{"step": 1, "rss": GIB}])
    assert series.memory_key == "rss" and series.xy("memory") == ([1.0], [1.0])
    series.add([{"step": 2, "gpu_mem": 4 * GIB, "rss": GIB}])
    assert series.memory_key == "gpu_mem" and series.xy("memory") == ([2.0], [4.0])
    series.add([{"step": 3, "rss": GIB}])
    assert series.xy("memory") == ([2.0], [4.0])


def test_series_are_bounded() -> None:
    series = RunSeries(max_points=100)
    series.add({"step": i, "loss": 1.0} for i in range(1000))
    assert len(series.points["loss"]) == 100
    assert series.points["loss"][-1] == (999.0, 1.0)


def test_thin_keeps_the_last_point_and_at_most_the_limit() -> None:
    xs = list(range(1000))
    tx, ty = thin(xs, xs, 100)
    assert len(tx) <= 100 and tx[-1] == 999 and tx == ty
    assert thin([1, 2], [3, 4], 100) == ([1, 2], [3, 4])
