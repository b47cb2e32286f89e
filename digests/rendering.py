"""Rendering digests and answers as Discord markdown from Jinja2 templates, split into messages.

One `Renderer` (one Jinja environment) is built at start-up: templates in the user's
`TEMPLATES_DIR` are found first, the built-in `templates/` package second; their compiled code can
be kept between runs (`cache_dir`), which saves compiling every template at each start. Every user-supplied
string goes through the `md` filter, which escapes markdown and breaks mentions, so a story titled
"@everyone" is inert text even before `allowed_mentions` is applied.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import MutableMapping
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined, TemplateError
from jinja2.bccache import Bucket

from digests.embeds import Embed
from digests.errors import ConfigError
from digests.message_parts import Part, RichPart
from digests.scheduling import describe_days
from digests.selection import Coverage, Digest, StoryList
from digests.story_items import StoryItem
from digests.text import LINK_MAX, cut_at_word, markdown_url
from digests.timeutil import as_utc, humanize_age
from digests.topics import Topic

log = logging.getLogger(__name__)

DISCORD_MESSAGE_MAX = 2_000
THREAD_TITLE_MAX = 100
_MARKDOWN_RE = re.compile(r"([\\*_~`|\[\]<>])")
_LINE_START_RE = re.compile(r"^(\s*)([#>\-+]|\d+\.)", re.MULTILINE)
_MENTION_RE = re.compile(r"@(?=[^\s\u200b])")
_USERINFO_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")
_WORD_RE = re.compile(r"\S+")
# A masked link as the templates write it: [escaped text](<target>).
_MASKED_LINK_RE = re.compile(r"\[(?:\\.|[^\\\]\n])*+\]\(<[^>\n]*+>\)")
# Rendered digest bodies kept: more than the distinct digests of one busy slot.
_BODIES_KEPT = 4_096
# Rendered story lines kept: those of a slot's pools.
_LINES_KEPT = 20_000
# Where a rich digest's top story embed goes: the `top_story_embed` global of the templates. No text a user
# gave can hold it (ingest drops control characters).
_EMBED_MARK = "\x00top-story-embed\x00"
_EMBED_TEMPLATE = "top_story_embed.md.j2"


def escape_markdown(text: str) -> str:
    """`text` shown literally in Discord: markdown escaped, mentions and bare links broken with a
    zero-width space."""
    escaped = _MARKDOWN_RE.sub(r"\\\1", _WORD_RE.sub(_break_bare_link, text))
    escaped = _LINE_START_RE.sub(lambda m: m[1] + "\\" + m[2], escaped)
    return _MENTION_RE.sub("@\u200b", escaped)


def _break_bare_link(word: re.Match[str]) -> str:
    """A word Discord would make a live link ("https://…", "discord.gg/…"), with zero-width spaces
    after its "://" and dots, so it reads the same but neither links, unfurls nor shows an invite."""
    token = word[0]
    if "/" not in token or ("://" not in token and "." not in token.split("/", 1)[0]):
        return token
    return token.replace("://", ":\u200b//").replace(".", ".\u200b")


def link_target(url: str) -> str:
    """`url` as a masked link's target: in <…> so Discord does not unfurl it, with every character
    markdown could read encoded; "" when that is longer than LINK_MAX (show the title without a link)."""
    target = markdown_url(url)
    return f"<{target}>" if len(target) <= LINK_MAX else ""


def without_userinfo(url: str) -> str:
    """`url` without the user name and password it may hold before its host: they are secrets."""
    return _USERINFO_RE.sub(r"\1", url, count=1)


def shown_url(url: str) -> str:
    """A URL the user gave (a feed's), shown inert: no credentials, nothing that could end the <…>."""
    return f"<{markdown_url(without_userinfo(url))}>"


def split_message(text: str, limit: int = DISCORD_MESSAGE_MAX) -> list[str]:
    """`text` in parts of at most `limit` characters.

    Parts break between paragraphs (blank-line separated blocks, so a topic heading stays with its
    headlines) where they can, else between lines. A single line longer than `limit` is cut at a
    word boundary (mid-word only when it has no space), but never inside a masked link, so no part is
    ever over the limit and no link is split across parts.
    """
    parts: list[str] = []
    current = ""
    for block in re.split(r"\n\s*\n", text.strip()):
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        current = ""
        for line in _cut_long_lines(block.split("\n"), limit):
            candidate = f"{current}\n{line}" if current else line
            if len(candidate) > limit:
                parts.append(current)
                candidate = line
            current = candidate
    parts.append(current)
    return [part.strip("\n") for part in parts if part.strip()]


def _cut_long_lines(lines: list[str], limit: int) -> list[str]:
    pieces = []
    for line in lines:
        while len(line) > limit:
            cut = _cut_point(line, limit)
            pieces.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        pieces.append(line)
    return pieces


def _cut_point(line: str, limit: int) -> int:
    """Where to cut `line` at most `limit` characters in: the last space, moved out of a masked link."""
    cut = line.rfind(" ", 0, limit + 1)
    cut = cut if cut > limit // 2 else limit
    for link in _MASKED_LINK_RE.finditer(line):
        if link.start() >= cut:
            break
        if cut < link.end():
            if link.start() > 0:
                return link.start()
            return link.end() if link.end() <= limit else cut
    return cut


def template_loader(templates_dir: Path | None) -> ChoiceLoader:
    """Templates from `templates_dir` (TEMPLATES_DIR) first, the built-in `templates/` package second."""
    if templates_dir is not None and not templates_dir.is_dir():
        raise ConfigError(f"TEMPLATES_DIR {templates_dir} is not a directory")
    builtin = FileSystemLoader(str(resources.files("templates")))
    return ChoiceLoader([FileSystemLoader(str(templates_dir)), builtin] if templates_dir else [builtin])


class _CompiledTemplates(FileSystemBytecodeCache):
    """Jinja's cache of compiled templates in a directory of the user's own, which must not stop rendering.

    Jinja keys each file by its template name and path and checks the source's checksum, so an
    edited template or override is compiled again. The files are code, so the directory is the
    user's (mode 0700). One that cannot be read or written costs a compile, nothing else.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__(str(directory))

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError as exc:
            log.info("compiled template not read from the cache (%s); compiling it", exc)

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as exc:
            log.info("compiled template not cached (%s); the next start compiles it again", exc)


def _template_cache(directory: Path | None) -> _CompiledTemplates | None:
    if directory is None:
        return None
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        log.info("compiled templates not cached (%s)", exc)
        return None
    return _CompiledTemplates(directory)


class _Environment(Environment):
    """Jinja's environment, with each template's globals a plain dict rather than a ChainMap over the environment's.

    A template that imports macros (`{% from "_period.md.j2" import coverage_note %}`) compares its
    globals' keys with the imported one's at every render; over ChainMaps that is a walk in Python
    (rendering P3's 4,539 messages: 1.15 s with them, 1.06 s without). The globals are all set when the
    `Renderer` is made, before any template is loaded, so a copy sees the same ones.
    """

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


class Renderer:
    """Renders every message Briefbot sends from the templates."""

    def __init__(self, templates_dir: Path | None = None, *, cache_dir: Path | None = None) -> None:
        """`cache_dir` keeps compiled templates between runs (None: compile them at every start)."""
        self.env = _Environment(
            loader=template_loader(templates_dir),
            undefined=StrictUndefined,
            autoescape=False,  # output is Discord markdown, escaped by the `md` filter
            trim_blocks=True,
            lstrip_blocks=True,
            bytecode_cache=_template_cache(cache_dir),
        )
        self.env.filters.update(md=escape_markdown, link=link_target, url=shown_url, age=humanize_age,
                                clip=cut_at_word)
        self.env.filters["local"] = local_time
        self.env.filters["span"] = describe_span
        self.env.filters["days"] = describe_days
        self.env.globals["utc"] = ZoneInfo("UTC")
        self.env.globals["digest_body"] = self._digest_body
        self.env.globals["shared_line"] = self._story_line
        self.env.globals["top_story_embed"] = _EMBED_MARK
        self._bodies: OrderedDict[tuple[int, bool], tuple[Digest, str]] = OrderedDict()
        # An entry keeps its digest alive, so no other digest can be given its `id` meanwhile.
        self._messages: OrderedDict[tuple, tuple[Digest, tuple[str, ...]]] = OrderedDict()
        self._bodies_lock = threading.Lock()
        self._lines: OrderedDict[tuple[int, datetime], tuple[StoryItem, str]] = OrderedDict()
        self._embeds: OrderedDict[StoryItem, Embed] = OrderedDict()

    def render(self, template: str, **context: object) -> str:
        """The text of `template` with `context`; a broken user template is a ConfigError."""
        try:
            return self.env.get_template(template).render(**context).strip()
        except TemplateError as exc:
            raise ConfigError(f"template {template} failed: {exc.message or type(exc).__name__}") from None

    def render_parts(self, template: str, **context: object) -> list[str]:
        """`render` split into Discord-sized messages."""
        return split_message(self.render(template, **context))

    def briefing(self, digest: Digest, *, tz: ZoneInfo, mention_role_id: int | None = None,
                 covered: Coverage | None = None, style: str = "text") -> list[Part]:
        """A channel briefing, as messages; `covered` (what it covers) names its period and a pause it skips.

        With `style` "rich" the top story is an embed (see `_digest_parts`).
        """
        return self._digest_parts("briefing.md.j2", digest, (tz.key, mention_role_id, covered), style=style,
                                  tz=tz, mention=mention_role_id, covered=covered)

    def personal_digest(self, digest: Digest, *, tz: ZoneInfo, topics: list[Topic],
                        covered: Coverage | None = None, style: str = "text", searches: tuple[str, ...] = ()
                        ) -> list[Part]:
        """A user's personal digest, as messages (`covered` and `style` as for `briefing`); its heading names
        the user's topics and saved `searches`."""
        return self._digest_parts("personal_digest.md.j2", digest,
                                  (tz.key, tuple(t.slug for t in topics), covered, searches),
                                  style=style, tz=tz, topics=topics, covered=covered, searches=searches)

    def _digest_parts(self, template: str, digest: Digest, key: tuple, *, style: str,
                      **context: object) -> list[Part]:
        """`template`'s messages for `digest`, rendered once per digest, style and `key` (all else the context holds).

        Thousands of targets of a slot share a digest (see `_digest_body`) and many also a timezone,
        topics and coverage: they get the same messages, rendered once.

        A rich digest's top story is an embed under the text before it (the heading): the message that
        ends there carries it, and the rest of the digest follows as text. A TEMPLATES_DIR override that
        never asks for the embed (`digest_body(digest, top_embed=rich)`) keeps the top story in its text.
        """
        rich = style == "rich" and digest.top is not None
        full_key = (template, id(digest), rich, *key)
        with self._bodies_lock:
            kept = self._messages.get(full_key)
        if kept is not None:
            return list(kept[1])
        text = self.render(template, digest=digest, now=digest.now, rich=rich, **context)
        head, marked, rest = text.partition(_EMBED_MARK)
        if marked and digest.top is not None:
            heading = split_message(head) or [""]
            parts: list[Part] = [*heading[:-1], RichPart(heading[-1], self.top_story_embed(digest.top)),
                                 *split_message(rest)]
        else:
            parts = split_message(text)
        with self._bodies_lock:
            self._messages[full_key] = (digest, tuple(parts))
            while len(self._messages) > _BODIES_KEPT:
                self._messages.popitem(last=False)
        return parts

    def thread_title(self, *, slot_at: datetime, tz: ZoneInfo, name: str | None = None) -> str:
        """The title of a digest's forum post or discussion thread: its date in the target's timezone.

        Discord shows thread names as plain text, so nothing is escaped; they are one line of at most
        100 characters.
        """
        title = " ".join(self.render("thread_title.md.j2", slot_at=slot_at, tz=tz, name=name).split())
        return cut_at_word(title, THREAD_TITLE_MAX) or "Briefing"

    def top_story_embed(self, item: StoryItem) -> Embed:
        """The embed of a rich digest's top story: each field a macro of `top_story_embed.md.j2`, cut to fit.

        Rendered once per story: the digests of a slot share their top stories.
        """
        with self._bodies_lock:
            kept = self._embeds.get(item)
        if kept is not None:
            return kept
        try:
            module = self.env.get_template(_EMBED_TEMPLATE).module
            fields = {name: " ".join(str(getattr(module, name)(item)).split())
                      for name in ("title", "description", "author", "footer")}
        except (TemplateError, AttributeError) as exc:
            raise ConfigError(f"template {_EMBED_TEMPLATE} failed: {exc}") from None
        embed = Embed(**fields, url=item.url, timestamp=item.effective_at, image_url=item.image_url).fitted()
        with self._bodies_lock:
            self._embeds[item] = embed
            while len(self._embeds) > _LINES_KEPT:
                self._embeds.popitem(last=False)
        return embed

    def _digest_body(self, digest: Digest, top_embed: bool = False) -> str:
        """The `digest_body` macro of `_macros.md.j2`, rendered once per digest object (and `top_embed`).

        The targets of a slot that follow the same topics share one `Digest` (see
        `digests.selection.StoryPool`): only their headings differ, so the body is rendered once.
        An entry keeps its digest alive, so no other digest can be given its `id` meanwhile.
        """
        key = (id(digest), top_embed)
        with self._bodies_lock:
            kept = self._bodies.get(key)
        if kept is not None:
            return kept[1]
        try:
            macro = self.env.get_template("_macros.md.j2").module.digest_body
        except AttributeError:
            raise ConfigError("template _macros.md.j2 has no digest_body macro") from None
        try:
            body = str(macro(digest, top_embed=True) if top_embed else macro(digest))
        except TypeError:  # an override of _macros.md.j2 from before rich digests: the top story stays text
            body = str(macro(digest))
        with self._bodies_lock:
            self._bodies[key] = (digest, body)
            while len(self._bodies) > _BODIES_KEPT:
                self._bodies.popitem(last=False)
        return body

    def _story_line(self, item: StoryItem, now: datetime) -> str:
        """The `story_line` macro of `_macros.md.j2` for `item` at `now`, rendered once.

        The digests of a slot's different topic sets list many of the same stories (the same objects, of
        the slot's pools): they are found by identity, as hashing an item hashes all its fields. An entry
        keeps its item alive, so no other item can be given its id meanwhile.
        """
        key = (id(item), now)
        with self._bodies_lock:
            kept = self._lines.get(key)
        if kept is not None and kept[0] is item:
            return kept[1]
        line = str(self.env.get_template("_macros.md.j2").module.story_line(item, now))
        with self._bodies_lock:
            self._lines[key] = (item, line)
            while len(self._lines) > _LINES_KEPT:
                self._lines.popitem(last=False)
        return line

    def story_list(self, stories: StoryList, *, tz: ZoneInfo, now: datetime) -> list[str]:
        """The answer to `/stories`, as messages."""
        return self.render_parts("story_list.md.j2", result=stories, now=now, tz=tz)

    def topic_list(self, counts: list[tuple[Topic, int]]) -> list[str]:
        """The answer to `/topics`, as messages."""
        return self.render_parts("topics.md.j2", counts=counts)

    def reply(self, name: str, **context: object) -> list[str]:
        """A short command reply: the macro `name` of `replies.md.j2`, as messages."""
        try:
            macro = getattr(self.env.get_template("replies.md.j2").module, name)
            return split_message(str(macro(**context)).strip())
        except (TemplateError, AttributeError) as exc:
            raise ConfigError(f"reply {name} of replies.md.j2 failed: {exc}") from None


def describe_span(span: timedelta) -> str:
    """A period's length as people say it: “24 h”, “3 days” (a DST hour either way is ignored)."""
    hours = round(span.total_seconds() / 3600)
    return f"{hours} h" if hours <= 36 else f"{round(hours / 24)} days"


def local_time(moment: datetime, tz: ZoneInfo, fmt: str = "%a %d %b %H:%M") -> str:
    """`moment` as a wall-clock time in `tz`, formatted with strftime's `fmt`."""
    return as_utc(moment).astimezone(tz).strftime(fmt)
