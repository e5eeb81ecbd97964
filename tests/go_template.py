"""Just enough of Go's text/template to render the TEMPLATE tui-ft writes into a Modelfile, the
way Ollama would (no Go toolchain on CI machines): text, {{ .Content }}, {{ .Role }}, quoted
string literals, {{ if not .System }}, {{ if eq .Role "x" }} / {{ else if ... }} / {{ else }},
{{ range .Messages }} and {{ end }}. Anything else raises, so a template using more fails here
instead of passing untested."""

from __future__ import annotations

import json
import re
from typing import Any

_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)
_EQ_ROLE = re.compile(r'eq \.Role ("(?:[^"\\]|\\.)*")$')


def render(template: str, system: str, messages: list[dict[str, str]]) -> str:
    tokens: list[tuple[str, str]] = []
    cursor = 0
    for match in _ACTION.finditer(template):
        if match.group(1) or match.group(3):
            raise ValueError("trim markers ({{- -}}) are not expected in tui-ft's templates")
        tokens.append(("text", template[cursor : match.start()]))
        tokens.append(("action", match.group(2)))
        cursor = match.end()
    tokens.append(("text", template[cursor:]))
    tree, rest = _parse(tokens, 0)
    if rest != len(tokens):
        raise ValueError("unbalanced {{ end }}")
    return _run(tree, {"System": system, "Messages": messages}, None)


def _parse(tokens: list[tuple[str, str]], i: int) -> tuple[list[Any], int]:
    """Nodes until an unmatched else/end (returned position points at it)."""
    nodes: list[Any] = []
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "text":
            nodes.append(("text", value))
        elif value == "end" or value.startswith("else"):
            return nodes, i
        elif value.startswith("if ") or value.startswith("range "):
            keyword, _, condition = value.partition(" ")
            branches, i = _branches(tokens, i + 1, condition)
            nodes.append((keyword, branches))
        else:
            nodes.append(("value", value))
        i += 1
    return nodes, i


def _branches(tokens: list[tuple[str, str]], i: int, condition: str) -> tuple[list[Any], int]:
    branches = []
    while True:
        body, i = _parse(tokens, i)
        branches.append((condition, body))
        _, value = tokens[i]
        if value == "end":
            return branches, i
        condition = value.removeprefix("else").strip().removeprefix("if ").strip() or "true"
        i += 1


def _run(nodes: list[Any], root: dict[str, Any], dot: dict[str, str] | None) -> str:
    out = []
    for kind, value in nodes:
        if kind == "text":
            out.append(value)
        elif kind == "value":
            out.append(_value(value, root, dot))
        elif kind == "if":
            for condition, body in value:
                if _true(condition, root, dot):
                    out.append(_run(body, root, dot))
                    break
        elif kind == "range":
            (condition, body), *rest = value
            if condition != ".Messages" or rest:
                raise ValueError(f"unsupported range {condition!r}")
            out.extend(_run(body, root, message) for message in root["Messages"])
    return "".join(out)


def _value(expression: str, root: dict[str, Any], dot: dict[str, str] | None) -> str:
    if expression.startswith('"'):
        return str(json.loads(expression))
    if expression in (".Content", ".Role") and dot is not None:
        return dot[expression[1:].lower()]
    if expression == ".System":
        return str(root["System"])
    raise ValueError(f"unsupported action {{{{ {expression} }}}}")


def _true(condition: str, root: dict[str, Any], dot: dict[str, str] | None) -> bool:
    if condition == "true":
        return True
    if condition == "not .System":
        return not root["System"]
    match = _EQ_ROLE.match(condition)
    if match and dot is not None:
        return bool(dot["role"] == json.loads(match.group(1)))
    raise ValueError(f"unsupported condition {condition!r}")
