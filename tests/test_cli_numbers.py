"""Numbers outside their range are refused by the parser with a sentence, before any command
(and so any model load) starts."""

from __future__ import annotations

import pytest

from tui_ft.cli import build_parser


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["train", "run.yaml", "--nproc", "0"], "--nproc: must be a whole number of at least 1"),
        (["train", "run.yaml", "--nproc", "-1"], "(it is -1)"),
        (["resume", "r", "--nproc", "0"], "--nproc: must be a whole number of at least 1"),
        (["chat", "r", "--max-new-tokens", "0"], "--max-new-tokens: must be a whole number from 1"),
        (["data", "inspect", "demo", "--max-length", "0"], "--max-length: must be a whole"),
        (["data", "inspect", "demo", "--examples", "-2"], "--examples: must be a whole number"),
        (["chat", "r", "--temperature", "-1"], "--temperature: must be a number of at least 0"),
        (["chat", "r", "--temperature", "nan"], "--temperature: must be a number"),
        (["chat", "r", "--top-p", "0"], "--top-p: must be a number above 0 and at most 1"),
        (["estimate", "--batch-size", "two"], "--batch-size: 'two' is not a whole number."),
        (["stop", "r", "--wait", "-5"], "--wait: must be a number of at least 0"),
    ],
)
def test_out_of_range_numbers_are_refused_with_a_sentence(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(argv)
    assert exit_.value.code == 2
    assert says in capsys.readouterr().err


def test_numbers_in_range_parse() -> None:
    args = build_parser().parse_args(
        ["chat", "r", "--temperature", "0", "--top-p", "1", "--max-new-tokens", "1"]
    )
    assert (args.temperature, args.top_p, args.max_new_tokens) == (0.0, 1.0, 1)
    assert build_parser().parse_args(["train", "run.yaml", "--nproc", "2"]).nproc == 2
