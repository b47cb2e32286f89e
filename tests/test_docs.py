"""The docs that ship with the code say what the code does: every setting, every command and option, working links.

The names are taken from the code itself (the variables settings.py reads, the commands the bot
registers, the subcommands of `briefbot`), so a setting or an option added without its docs fails here.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import discord
import pytest
from discord import app_commands

from bot.cli import add_bot_commands
from bot.commands import COMMAND_MODULES
from digests import cli as domain_cli
from digests.doctor import setting_names
from digests.topics import parse_taxonomy, read_examples_file

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def table_names(text: str) -> set[str]:
    """The setting names in the first column of a markdown table: | `NAME` | …"""
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", text, flags=re.MULTILINE))


def env_example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_setting_names_come_from_the_code():
    assert len(setting_names()) >= 20 and "DATABASE_URL" in setting_names()


@pytest.mark.parametrize("document", ["docs/settings.md", "README.md", ".env.example"])
def test_every_setting_the_code_reads_is_documented_and_every_documented_one_exists(document):
    text = (ROOT / document).read_text(encoding="utf-8")
    documented = env_example_names() if document == ".env.example" else table_names(text)
    assert sorted(set(setting_names()) - documented) == [], f"settings missing from {document}"
    assert sorted(documented - set(setting_names())) == [], f"{document} documents settings the code never reads"


def registered_commands() -> dict[str, list[str]]:
    """Every slash command the bot registers (qualified name, e.g. "briefing setup") and its options."""
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    for module in COMMAND_MODULES:
        module.register(tree)
    commands: dict[str, list[str]] = {}
    for command in tree.walk_commands():
        if isinstance(command, app_commands.Command):
            commands[command.qualified_name] = [parameter.name for parameter in command.parameters]
    return commands


def command_sections() -> dict[str, str]:
    """docs/commands.md's sections, by the command of their heading: ### `/briefing setup`."""
    text = (DOCS / "commands.md").read_text(encoding="utf-8")
    parts = re.split(r"^### `/([a-z -]+)`$", text, flags=re.MULTILINE)
    return {name: body.split("\n## ", 1)[0] for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def test_every_slash_command_and_option_is_documented_and_nothing_else():
    commands = registered_commands()
    sections = command_sections()
    assert len(commands) == 34
    assert sorted(set(commands) - set(sections)) == [], "commands missing from docs/commands.md"
    assert sorted(set(sections) - set(commands)) == [], "docs/commands.md documents commands the bot lacks"
    for name, options in commands.items():
        rows = set(re.findall(r"^\| `([a-z_]+)` \|", sections[name], flags=re.MULTILINE))
        assert rows == set(options), f"/{name}: options in docs/commands.md differ from the code's"


def cli_commands() -> dict[str, set[str]]:
    """Every `briefbot` subcommand path (e.g. "feeds add") and its --options, from the real parser."""
    found: dict[str, set[str]] = {}

    def walk(current: argparse.ArgumentParser, prefix: str) -> None:
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    path = f"{prefix} {name}".strip()
                    if not any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
                        found[path] = {option for a in sub._actions for option in a.option_strings
                                       if option.startswith("--") and option != "--help"}
                    walk(sub, path)

    walk(domain_cli.build_parser(add_bot_commands), "")
    return found


def test_every_command_line_subcommand_and_option_is_documented():
    text = (DOCS / "commands.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `briefbot ([a-z -]+?)((?: [-A-Z\[].*?)?)` \|", text, flags=re.MULTILINE))
    commands = cli_commands()
    assert set(commands) == set(rows)
    for name, options in commands.items():
        assert options == set(re.findall(r"--[a-z-]+", rows[name])), f"briefbot {name}"


def heading_anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_the_docs_resolve():
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # an external link
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and file.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), flags=re.MULTILINE)
                if anchor not in {heading_anchor(heading) for heading in headings}:
                    broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []


def test_the_docs_stand_alone():
    """README once pointed at a SPEC.md that users never get."""
    for page in [ROOT / "README.md", *DOCS.glob("*.md")]:
        assert "SPEC" not in page.read_text(encoding="utf-8"), page.name


def test_the_topic_file_example_loads(tmp_path):
    text = (DOCS / "topics.md").read_text(encoding="utf-8")
    toml = re.search(r"```toml\n(.*?)```", text, flags=re.DOTALL)[1]
    examples = re.search(r"```text\n(.*?)```", text, flags=re.DOTALL)[1]
    (tmp_path / "labelled.tsv").write_text(examples, encoding="utf-8")
    taxonomy = parse_taxonomy(toml.replace("labelled.tsv.gz", "labelled.tsv"), directory=tmp_path,
                              tagger="keywords")
    assert [topic.slug for topic in taxonomy] == ["defense"]
    assert taxonomy.tag("NATO troops arrive") == ["defense"]
    rows = read_examples_file(tmp_path / "labelled.tsv", {"defense"})
    assert [slug for slug, _ in rows] == ["defense", "-", "defense"]
