"""Keeps each role's README variable tables in step with its meta/argument_specs.yml.

Usage: python tools/role_docs.py [--check]. Rewrites the part of roles/<role>/README.md between the markers
below from the argument specs (one table per entry point); --check only reports READMEs that differ and exits 1.
"""

from __future__ import annotations

import argparse
import re
import sys
import typing as t
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- variables from meta/argument_specs.yml: edit there, then run tools/role_docs.py -->"
END = "<!-- end of variables -->"
# Ansible's documentation markup, read as plain Markdown (M(), O(), V(), C(), P(), I(), B()).
MARKUP = re.compile(r"\b([MOVCPIB])\(([^()]*)\)")


def plain(text: str) -> str:
    """Ansible doc markup as Markdown: code spans for names and values."""

    def one(match: re.Match[str]) -> str:
        kind, body = match.groups()
        if kind in "IB":
            return f"*{body}*" if kind == "I" else f"**{body}**"
        body = body.split("#", 1)[0] if kind in "MP" else body
        body = re.sub(r"^[\w.]+#\w+:", "", body) if kind == "O" else body
        return f"`{body}`"

    return MARKUP.sub(one, text)


def _description(option: t.Mapping[str, t.Any]) -> str:
    lines = option.get("description", "")
    text = " ".join(lines) if isinstance(lines, list) else str(lines)
    choices = option.get("choices")
    if choices:
        text += " One of " + ", ".join(f"`{c}`" for c in choices) + "."
    return plain(text).replace("|", "\\|")


def _default(option: t.Mapping[str, t.Any]) -> str:
    if option.get("required"):
        return "required"
    if "default" not in option:
        return ""
    return f"`{yaml.safe_dump(option['default'], default_flow_style=True).strip().removesuffix('...').strip()}`"


def _type(option: t.Mapping[str, t.Any]) -> str:
    kind = str(option.get("type", "str"))
    return f"{kind} of {option['elements']}" if option.get("elements") else kind


def tables(specs: t.Mapping[str, t.Any]) -> str:
    """One Markdown table of variables per entry point."""
    parts = []
    for entry, spec in specs["argument_specs"].items():
        parts.append(f"### Entry point `{entry}`\n\n{plain(spec.get('short_description', ''))}\n")
        rows = ["| variable | type | default | what it does |", "|---|---|---|---|"]
        for name, option in spec.get("options", {}).items():
            rows.append(f"| `{name}` | {_type(option)} | {_default(option)} | {_description(option)} |")
        parts.append("\n".join(rows) + "\n")
    return "\n".join(parts)


def rendered(readme: str, specs: t.Mapping[str, t.Any]) -> str:
    """The README with its variables part generated from the specs."""
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    return readme[:start] + "\n\n" + tables(specs) + "\n" + readme[end:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report READMEs that differ; change nothing")
    check = parser.parse_args().check
    stale = []
    for spec_file in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        readme = spec_file.parents[1] / "README.md"
        text = readme.read_text()
        new = rendered(text, yaml.safe_load(spec_file.read_text()))
        if new != text:
            stale.append(str(readme.relative_to(ROOT)))
            if not check:
                readme.write_text(new)
    if check and stale:
        print(f"out of step with meta/argument_specs.yml (run tools/role_docs.py): {', '.join(stale)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
