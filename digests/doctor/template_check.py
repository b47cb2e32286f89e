"""The templates: every one compiles (TEMPLATES_DIR overrides first), and every message renders from sample data.

A broken override is named by its path; the built-in file it replaces is the fallback users can
compare with. Overrides of `replies.md.j2`, `_macros.md.j2` and `top_story_embed.md.j2` must define every
macro the built-in file defines, since the bot calls them by name.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, TemplateError, TemplateSyntaxError, nodes

from digests.doctor.report import Check, failure, ok, warning
from digests.errors import ConfigError
from digests.feed_import import ImportedOutline, ImportReport
from digests.rendering import Renderer
from digests.selection import Digest, DigestSection, StoryList
from digests.story_items import StoryItem
from digests.topics import Taxonomy

NAME = "templates"
_MACRO_FILES = ("replies.md.j2", "_macros.md.j2", "top_story_embed.md.j2")


def check_templates(templates_dir: Path | None, taxonomy: Taxonomy, now: datetime,
                    renderer: Renderer | None = None) -> list[Check]:
    """The template checks: compile everything, then render every message kind; one line per problem.

    Given the bot's own `renderer` (built from `templates_dir`), the templates it compiles here are
    the ones the bot then uses, so checking at start costs nothing later.
    """
    try:
        renderer = renderer or Renderer(templates_dir)
    except ConfigError as error:
        return [failure(NAME, str(error), "point TEMPLATES_DIR at a directory of template overrides, or unset it")]
    builtin = set(_j2_files(Path(str(resources.files("templates")))))
    overrides = set(_j2_files(templates_dir)) if templates_dir else set()

    def where(name: str) -> str:
        return str(templates_dir / name) if templates_dir and name in overrides else f"built-in {name}"

    problems = []
    broken = set()
    for name in sorted(builtin | overrides):
        try:
            renderer.env.get_template(name)
        except TemplateSyntaxError as error:
            problems.append(f"{where(name)}, line {error.lineno}: {error.message}")
            broken.add(name)
        except TemplateError as error:
            problems.append(f"{where(name)}: {error.message or type(error).__name__}")
            broken.add(name)
    compiled = not problems
    for name in _MACRO_FILES:
        if name in overrides - broken:
            missing = sorted(_macros(renderer, name, builtin=True) - _macros(renderer, name, builtin=False))
            if missing:
                problems.append(f"{where(name)} lacks the macro(s) {', '.join(missing)} that the bot calls")
    if compiled:
        problems += [f"{where(template)}: {message}" for template, message in _render_samples(renderer, taxonomy, now)]
    advice = "fix the file named (compare it with the built-in one in templates/), or remove the override"
    checks = [failure(NAME, problem, advice) for problem in problems]
    unused = sorted(overrides - builtin)
    if unused:
        checks.append(warning(NAME, f"{', '.join(unused)} in TEMPLATES_DIR replace(s) no built-in template",
                              "a typo? the built-in names are: " + ", ".join(sorted(builtin))))
    if not problems:
        replaced = f"; {len(overrides & builtin)} overridden from {templates_dir}" if templates_dir else ""
        checks.insert(0, ok(NAME, f"{len(builtin)} templates load and render{replaced}"))
    return checks


def _j2_files(directory: Path) -> list[str]:
    return [name for name in FileSystemLoader(str(directory)).list_templates() if name.endswith(".j2")]


def _macros(renderer: Renderer, name: str, *, builtin: bool) -> set[str]:
    """The macros `name` defines: the built-in file's, or the one the renderer loads (the override)."""
    if builtin:
        source = (Path(str(resources.files("templates"))) / name).read_text(encoding="utf-8")
    else:
        source, _, _ = renderer.env.loader.get_source(renderer.env, name)  # type: ignore[union-attr]
    return {macro.name for macro in renderer.env.parse(source).find_all(nodes.Macro)}


def _render_samples(renderer: Renderer, taxonomy: Taxonomy, now: datetime) -> list[tuple[str, str]]:
    """Render each message the bot posts from a small sample; (template, what went wrong) for each failure."""
    topics = list(taxonomy)[:2]
    slugs = tuple(topic.slug for topic in topics)
    story = StoryItem(id=1, title="Sample story for briefbot doctor", url="https://example.com/story",
                      source="Example Wire", summary="A sample summary.", effective_at=now - timedelta(hours=2),
                      topics=slugs[:1], has_body=True, also=("Other Outlet",))
    headline = StoryItem(id=2, title="Sample headline", url=None, source="Example Wire", summary="",
                         effective_at=now - timedelta(hours=5), topics=slugs[:1], has_body=False)
    digest = Digest(top=story, sections=(DigestSection(topic=topics[0] if topics else None, items=(headline,)),),
                    more=3, now=now)
    utc = ZoneInfo("UTC")
    imported = ImportReport([ImportedOutline("https://example.com/feed", "Example & Co", "added", feed_id=1),
                             ImportedOutline("ftp://example.com/feed", "", "refused", "Not an http(s) URL.")],
                            over_cap=2, linked_lists=1)
    samples = [
        ("briefing.md.j2", lambda: renderer.briefing(digest, tz=utc, mention_role_id=123)),
        ("personal_digest.md.j2", lambda: renderer.personal_digest(digest, tz=utc, topics=topics)),
        ("top_story_embed.md.j2", lambda: renderer.briefing(digest, tz=utc, style="rich")),
        ("quiet_day.md.j2", lambda: renderer.render_parts("quiet_day.md.j2", now=now, tz=utc)),
        ("story_list.md.j2", lambda: renderer.story_list(StoryList(topics[0] if topics else None, "sample", 24,
                                                                   (story, headline)), tz=utc, now=now)),
        ("story_list.md.j2", lambda: renderer.story_list(StoryList(None, "nothing", 24, ()), tz=utc, now=now)),
        ("topics.md.j2", lambda: renderer.topic_list([(topic, 1) for topic in topics])),
        ("feed_import_report.txt.j2", lambda: renderer.render("feed_import_report.txt.j2", source="sample.opml",
                                                              report=imported, max_outlines=1000)),
    ]
    failed = []
    for template, render in samples:
        try:
            if not render():
                failed.append((template, "renders nothing for a sample message"))
        except Exception as error:  # a user's template can raise anything; name it rather than crash
            failed.append((template, _without_prefix(str(error) or type(error).__name__)))
    return list(dict.fromkeys(failed))


def _without_prefix(message: str) -> str:
    """The renderer's message without its own "template X failed:" lead (the check names the file)."""
    return message.split(" failed: ", 1)[1] if message.startswith("template ") and " failed: " in message else message
