"""docs/cli.md against the real parser (tui_ft.cli.build_parser, which imports neither Textual
nor the ML stack): every command, option and choice is documented in its command's section,
no option is named that does not exist, and every example line parses."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from tui_ft.cli import build_parser

CLI_MD = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
HELP = {"-h", "--help"}
# A section per command: "## `tui-ft`" (the top-level options), "## `tui-ft data inspect`".
SECTION = re.compile(r"^## `(tui-ft(?: [a-z][a-z-]*)*)`\s*$", re.MULTILINE)
OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")
CODE_BLOCK = re.compile(r"^```[a-z]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def commands(
    parser: argparse.ArgumentParser, path: str = "tui-ft"
) -> dict[str, argparse.ArgumentParser]:
    """Every command that takes options, by its full name ("tui-ft data inspect"); a group
    such as `tui-ft data` that only holds sub-commands is left out."""
    found: dict[str, argparse.ArgumentParser] = {}
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if path == "tui-ft" or not subparsers:
        found[path] = parser
    for action in subparsers:
        for name, sub in action.choices.items():
            found.update(commands(sub, f"{path} {name}"))
    return found


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {
        string
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction)
        for string in action.option_strings
    }


def choices(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    return {
        action.option_strings[0]: [str(c) for c in action.choices]
        for action in parser._actions
        if action.option_strings and action.choices
    }


def sections() -> dict[str, str]:
    text = CLI_MD.read_text(encoding="utf-8")
    marks = list(SECTION.finditer(text))
    return {
        mark[1]: text[mark.end() : following.start() if following else len(text)]
        for mark, following in zip(marks, [*marks[1:], None], strict=True)
    }


def intro() -> str:
    text = CLI_MD.read_text(encoding="utf-8")
    first = SECTION.search(text)
    return text[: first.start()] if first else text


PARSER = build_parser()
COMMANDS = commands(PARSER)
TOP_LEVEL = options(PARSER)


def test_every_command_has_a_section_and_every_section_a_command() -> None:
    documented = set(sections())
    assert documented == set(COMMANDS), (
        f"missing from docs/cli.md: {sorted(set(COMMANDS) - documented)}; "
        f"documented but not a command: {sorted(documented - set(COMMANDS))}"
    )


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_and_choice_is_in_its_section(command: str) -> None:
    section = sections().get(command, "")
    named = set(OPTION.findall(section))
    missing = sorted(options(COMMANDS[command]) - HELP - named)
    assert not missing, f"{command}: options missing from its section of docs/cli.md: {missing}"
    for option, values in choices(COMMANDS[command]).items():
        absent = [v for v in values if f"`{v}`" not in section]
        assert not absent, f"{command} {option}: choices missing from docs/cli.md: {absent}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_section_names_only_options_that_exist(command: str) -> None:
    allowed = options(COMMANDS[command]) | TOP_LEVEL | HELP
    unknown = sorted(set(OPTION.findall(sections().get(command, ""))) - allowed)
    assert not unknown, f"docs/cli.md names options {command} does not have: {unknown}"


def test_the_introduction_names_only_options_that_exist() -> None:
    every = set().union(*(options(parser) for parser in COMMANDS.values()))
    unknown = sorted(set(OPTION.findall(intro())) - every)
    assert not unknown, f"docs/cli.md names options that do not exist: {unknown}"


def example_lines() -> list[str]:
    text = CLI_MD.read_text(encoding="utf-8")
    return [
        line.strip()
        for block in CODE_BLOCK.findall(text)
        for line in block.splitlines()
        if line.strip().startswith("tui-ft")
    ]


def test_there_are_examples() -> None:
    assert len(example_lines()) >= len(COMMANDS)


@pytest.mark.parametrize("line", example_lines())
def test_every_example_parses(line: str) -> None:
    argv = shlex.split(line, comments=True)[1:]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            build_parser().parse_args(argv)
        except SystemExit as exit_:  # --help and --version exit 0 after printing
            assert exit_.code == 0, f"`{line}` does not parse: {err.getvalue().strip()}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_appears_in_an_example(command: str) -> None:
    used: set[str] = set()
    for line in example_lines():
        words = shlex.split(line, comments=True)
        positionals = [w for w in words if not w.startswith("-")]
        if " ".join(positionals).startswith(command):
            used.update(w.split("=")[0] for w in words if w.startswith("-"))
    unused = sorted(options(COMMANDS[command]) - HELP - used)
    if command == "tui-ft":  # top-level options come before any command; all examples count
        unused = [o for o in unused if not any(o in line.split() for line in example_lines())]
    assert not unused, f"{command}: no example in docs/cli.md uses {unused}"


DOC_PAGES = sorted([CLI_MD.parent.parent / "README.md", *CLI_MD.parent.glob("*.md")])
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)\s]*)?\)")


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda p: p.name)
def test_relative_links_in_the_docs_point_at_files(page: Path) -> None:
    targets = [m[1] for m in LINK.finditer(page.read_text(encoding="utf-8"))]
    broken = [t for t in targets if "://" not in t and not (page.parent / t).exists()]
    assert not broken, f"{page.name} links to missing files: {broken}"
