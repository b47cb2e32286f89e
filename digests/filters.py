"""Filters of a target's digest: include and exclude rules on a story's title, summary and source.

A story passes a target's filters when it matches none of its exclude rules and, if the target has
include rules, at least one of those. A rule looks at one field of the story (its title, its
summary, its source: the outlet the digest names) or at `any` of them, in one of two ways:

- `word`: a word or a phrase, matched as whole words, ignoring case and accents. Both sides are
  folded as `digests.text.normalise_title` folds titles (casefold, NFKD, combining marks dropped,
  anything but letters and digits a space), so `zurich` matches "Zürich", `covid-19` matches
  "COVID 19" but not "COVID-190", and a phrase's words must follow one another in its order.
- `regex`: a regular expression in RE2's syntax, searched for anywhere in the field, ignoring case
  unless it says `(?-i)`; `^` and `$` are the field's start and end. Accents are removed from the
  field and from the pattern first, so `cafe` matches "Café". RE2 never backtracks: its time is
  linear in the text whatever the pattern (`(a+)+$` on 100 KB is one pass), so no rule can stall a slot.

Limits (against a user making the bot work for them without end): a pattern of at most
FILTER_PATTERN_MAX characters, MAX_RULES rules a target, and a regex that RE2 compiles to at most
MAX_PROGRAM_SIZE instructions within RE2_MAX_MEM bytes. `\\A`, `\\z` and `\\C` and turning off the
`m` flag are refused: a slot matches each rule against all its stories' fields at once, one a line
(see `PoolMatches`), where those would reach across stories.

`FilterSet.passes` applies a target's rules to one story; `PoolMatches` applies them to a slot's story
pool, each distinct rule once over every story of the pool, not once per story, rule and target. A few
rules are each one scan in C over the pool's fields joined a line each (`bytes.find`, or an RE2 search);
the thousands of distinct rules of a busy slot are matched together, line by line, by one RE2 set of
the word rules and one RE2 filter of the regexes (`_LineMatcher`). All ways give the same answers (tests
check it).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import threading
import unicodedata
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import or_

import re2
import sqlalchemy as sa
from sqlmodel import Session, col, select

from digests.bitsets import as_bits, members, set_bits
from digests.errors import InputError, NotFoundError
from digests.models import FILTER_PATTERN_MAX, ChannelBriefing, PersonalDigest, Target, TargetFilter, WebhookDigest
from digests.scheduling import fires_at, period_at
from digests.story_items import StoryItem
from digests.text import normalise_title, normalize

log = logging.getLogger(__name__)

ACTIONS = ("exclude", "include")
KINDS = ("word", "regex")
FIELDS = ("any", "title", "summary", "source")
MAX_RULES = 20
# RE2's work per byte of text grows with the program's size, so both are capped.
MAX_PROGRAM_SIZE = 2_000
RE2_MAX_MEM = 128 * 1024
# Compiled regexes kept between slots: at most this many × RE2_MAX_MEM bytes.
_COMPILED_KEPT = 512
# A pool matches a slot's rules together, a line at a time, rather than with one scan of the pool a rule, when
# the slot has this many rules and the pool has been asked for TOGETHER_AFTER of them one by one (a pool few
# targets read, such as a guild's own, never pays for the slot's thousands). Measured on the P3.filters slot
# (tests/benchmarks): together costs about a microsecond a line and field whatever the rules, a scan about a
# millisecond a rule on a week's pool of 30,000 events.
TOGETHER_MIN_RULES = 64
TOGETHER_AFTER = 32
# The memory RE2 may use for the set of a slot's word rules (its program and its DFA's states).
_WORD_SET_MAX_MEM = 64 * 1024 * 1024
_FIELDS_OF = {"any": ("title", "summary", "source"), "title": ("title",), "summary": ("summary",),
              "source": ("source",)}
# ASCII folded as `normalise_title` folds it (letters lowered, anything but letters and digits a space); the
# bytes of other characters (already folded, see `_folded_lines`) and line breaks left as they are.
_ASCII_FOLD = bytes(byte if byte >= 0x80 or byte == 0x0A or chr(byte).isalnum() else 0x20
                    for byte in range(256)).lower()
_SEPARATORS = re.compile(r"(?:\W|_)+")
_FLAG_GROUP = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?[:)]")
# What has a schedule (a kind's row, or its `Target`).
Scheduled = Target | ChannelBriefing | PersonalDigest | WebhookDigest


@dataclass(frozen=True)
class Rule:
    """One rule, ready to match: `needle` (a `word` rule's folded words, with a space each side) or `regex`."""

    action: str
    kind: str
    field: str
    pattern: str
    needle: str | None = dataclasses.field(default=None, compare=False, repr=False)
    regex: re2._Regexp | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def test(self) -> tuple[str, str, str]:
        """What the rule matches, whatever it does with a match: include and exclude rules share it."""
        return self.kind, self.field, self.pattern

    def matches(self, item: StoryItem) -> bool:
        """Whether the story matches the rule (see the module docstring)."""
        for name in _FIELDS_OF[self.field]:
            text = getattr(item, name)
            if self.needle is not None and self.needle in f" {normalise_title(text)} ":
                return True
            if self.regex is not None and _search(self.regex, plain_text(text).encode(), 0) is not None:
                return True
        return False


@dataclass(frozen=True)
class FilterSet:
    """A target's rules (none: every story passes).

    `together`: every rule read with these (the rules of a slot's targets of one period, see
    `SlotFilters`), which a pool asked for many of them matches all at once (see `PoolMatches`).
    """

    rules: tuple[Rule, ...] = ()
    together: tuple[Rule, ...] = dataclasses.field(default=(), compare=False, repr=False)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def key(self) -> tuple[tuple[str, str, str, str], ...]:
        """The rules as plain values, in one order: targets with equal keys get the same digest."""
        return tuple(sorted((rule.action, *rule.test) for rule in self.rules))

    @property
    def includes(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.action == "include")

    @property
    def excludes(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.action == "exclude")

    def passes(self, item: StoryItem) -> bool:
        """Whether the story stays: no exclude rule matches it, and an include rule does if there are any."""
        if any(rule.matches(item) for rule in self.excludes):
            return False
        includes = self.includes
        return not includes or any(rule.matches(item) for rule in includes)


NO_FILTERS = FilterSet()


# Parsing what a user typed ---------------------------------------------------------------------


def parse_rule(*, action: str, kind: str, field: str, pattern: str) -> Rule:
    """A rule from what a user typed, or InputError saying what is wrong with it."""
    action, kind, field = action.strip().lower(), kind.strip().lower(), field.strip().lower()
    for value, allowed, what in ((action, ACTIONS, "action"), (kind, KINDS, "match"), (field, FIELDS, "field")):
        if value not in allowed:
            raise InputError(f"A filter's {what} is one of {', '.join(allowed)} (not “{value[:20]}”).")
    pattern = pattern.strip()
    if not pattern or len(pattern) > FILTER_PATTERN_MAX:
        raise InputError(f"A filter's pattern is 1 to {FILTER_PATTERN_MAX} characters long "
                         f"(this one has {len(pattern)}).")
    if kind == "word":
        words = normalise_title(pattern)
        if not words:
            raise InputError(f"“{pattern[:60]}” has no letter or digit to match as a word: "
                             "use `match:regex` to match punctuation.")
        return Rule(action, kind, field, pattern, needle=f" {words} ")
    return Rule(action, kind, field, pattern, regex=_checked_regex(pattern))


def _checked_regex(pattern: str) -> re2._Regexp:
    """The pattern compiled, or InputError with RE2's own reason (or ours) for refusing it."""
    shown = pattern[:60]
    try:
        regex = _regex(pattern)
    except re2.error as error:
        reason = _reason(pattern, error)
        if reason.startswith("pattern too large"):
            raise InputError(f"“{shown}” is too complex a regular expression: keep it shorter and simpler "
                             f"(RE2 may use {RE2_MAX_MEM // 1024} KB for it).") from None
        raise InputError(f"“{shown}” is not a regular expression RE2 accepts: {reason}. RE2 has no "
                         "backreferences or lookarounds (https://github.com/google/re2/wiki/Syntax).") from None
    whole_text = _whole_text_syntax(pattern)
    if whole_text:
        raise InputError(f"“{shown}” uses `{whole_text}`, which filters do not accept: each field is "
                         "matched on its own, so use ^ and $ for its start and end.")
    if regex.programsize > MAX_PROGRAM_SIZE:
        raise InputError(f"“{shown}” is too complex a regular expression: RE2 compiles it to "
                         f"{regex.programsize:,} instructions, and a filter may have {MAX_PROGRAM_SIZE:,}.")
    return regex


def _reason(pattern: str, error: re2.error) -> str:
    """RE2's reason for refusing the pattern as the user wrote it (without the `(?m)` that `_regex` adds)."""
    try:
        re2.compile(strip_accents(pattern), _options())
    except re2.error as bare:
        error = bare
    reason = error.args[0] if error.args else ""
    return (reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason))[:120]


def _whole_text_syntax(pattern: str) -> str | None:
    """The first piece of `pattern` that refers to the whole text rather than a line (\\A, \\z, \\C, -m), if any."""
    at, in_class = 0, False
    while at < len(pattern):
        char = pattern[at]
        if char == "\\":
            if pattern[at + 1:at + 2] in ("A", "z", "C"):
                return pattern[at:at + 2]
            at += 2
            continue
        if in_class:
            if pattern.startswith("[:", at):  # a POSIX class inside a class: [[:alpha:]]
                end = pattern.find(":]", at + 2)
                at = at + 2 if end < 0 else end + 2
                continue
            in_class = char != "]"
        elif char == "[":
            in_class = True
            at += 1
            at += pattern.startswith("^", at)
            at += pattern.startswith("]", at)  # a ] first in a class is the character
            continue
        elif (flags := _FLAG_GROUP.match(pattern, at)) and "m" in (flags[2] or ""):
            return flags[0]
        at += 1
    return None


@functools.cache
def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.never_nl = True  # no match reaches past a line: one story's field
    options.never_capture = True  # whether it matches is all a rule asks; groups would cost a second engine
    options.max_mem = RE2_MAX_MEM
    options.log_errors = False
    return options


@functools.lru_cache(maxsize=_COMPILED_KEPT)
def _regex(pattern: str) -> re2._Regexp:
    """A regex rule's pattern as it runs: accents removed, `^` and `$` at each line (raises re2.error)."""
    return re2.compile("(?m)" + strip_accents(pattern), _options())


def _search(regex: re2._Regexp, data: bytes, pos: int) -> re2._Match | None:
    """The one place a rule's text meets RE2: the first match in `data` from `pos`."""
    return regex.search(data, pos)


# Folding text as rules see it -------------------------------------------------------------------


def strip_accents(text: str) -> str:
    """`text` without accents (NFKD, combining marks dropped); unchanged when it is ASCII."""
    if text.isascii():
        return text
    return normalize("NFKD", text).translate(_combining_marks())


def plain_text(text: str) -> str:
    """A field as a regex rule sees it: accents removed, on one line."""
    return strip_accents(text).replace("\n", " ")


@functools.cache
def _combining_marks() -> dict[int, None]:
    """A `str.translate` table deleting every combining mark (built once, when text first needs it)."""
    return dict.fromkeys(code for code in range(0x110000) if unicodedata.combining(chr(code)))


def _folded_lines(texts: Sequence[str]) -> bytes:
    """Each text folded as `normalise_title` folds it, with a space each side, one a line (UTF-8).

    Most texts are ASCII: those are folded together, by a byte table and a split per line; the
    others one by one, with C string methods (`_fold`). Each line comes out as `normalise_title` makes it.
    """
    joined = "\n".join(text.replace("\n", " ") if text.isascii() else _fold(text) for text in texts)
    return b"\n".join(b" %s " % b" ".join(line.split()) for line in
                      joined.encode().translate(_ASCII_FOLD).split(b"\n"))


def _fold(text: str) -> str:
    """`normalise_title(text)` without its pass in Python over every character."""
    return " ".join(_SEPARATORS.sub(" ", normalize("NFKD", text.casefold()).translate(_combining_marks())).split())


def _line_breaks(text: bytes) -> list[int]:
    breaks, at = [], text.find(b"\n")
    while at >= 0:
        breaks.append(at)
        at = text.find(b"\n", at + 1)
    return breaks


# A story pool's matches ---------------------------------------------------------------------------


class PoolMatches:
    """Which of a pool's stories (by their index in `items`) each rule matches, worked out once per rule.

    A field's texts are joined, a story a line, when a rule first needs that field. A rule on its own
    is a `bytes.find` loop over the folded lines (`word`) or an RE2 search from line to line (`regex`:
    it cannot match across a line break, `never_nl`), each hit mapped to its story by the line breaks.
    A slot's rules (`FilterSet.together`), when there are TOGETHER_MIN_RULES or more and the pool has
    been asked for TOGETHER_AFTER of them, are matched together instead: each line is read once by a
    `_LineMatcher` of all of them. A rule's matches are kept as bits (`digests.bitsets`), so a target's
    rules combine in a few C operations however many stories match. Thread-safe: a slot's workers
    share it.
    """

    def __init__(self, items: Sequence[StoryItem]) -> None:
        self._items = items
        self._everything = (1 << len(items)) - 1
        self._lines: dict[tuple[str, str], tuple[bytes, list[int]]] = {}
        self._matches: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()
        self._together_lock = threading.Lock()  # held while a slot's rules are matched together
        self._one_by_one: set[tuple[str, str, str]] = set()  # rules RE2 could not match together: left to `_bits`

    def passing(self, candidates: Iterable[int], filters: FilterSet) -> Iterator[int]:
        """The candidates (indexes of `items`) that pass the filters, in their order, read as they are asked for."""
        return members(candidates, self.passing_bits(filters), len(self._items))

    def passing_bits(self, filters: FilterSet) -> int:
        """The indexes of the stories that pass the filters, as bits."""
        if len(filters.together) >= TOGETHER_MIN_RULES and len(self._matches) >= TOGETHER_AFTER and any(
                rule.test not in self._matches for rule in filters.rules):
            self._match_together(filters.together)
        excluded = functools.reduce(or_, (self._bits(rule) for rule in filters.excludes), 0)
        includes = filters.includes
        included = functools.reduce(or_, (self._bits(rule) for rule in includes), 0) if includes else self._everything
        return included & ~excluded

    def matching(self, rule: Rule) -> frozenset[int]:
        """The indexes of the stories the rule matches."""
        return frozenset(set_bits(self._bits(rule), len(self._items)))

    def _bits(self, rule: Rule) -> int:
        found = self._matches.get(rule.test)
        if found is None:
            hits: set[int] = set()
            for name in _FIELDS_OF[rule.field]:
                if rule.needle is not None:
                    hits |= _lines_with(*self._field_lines(name, "word"), rule.needle.encode())
                elif rule.regex is not None:
                    hits |= _lines_matching(*self._field_lines(name, "regex"), rule.regex)
            found = self._matches.setdefault(rule.test, as_bits(hits, len(self._items)))
        return found

    def _match_together(self, rules: Sequence[Rule]) -> None:
        """Match those of `rules` not matched yet, reading each line of each field once (see `_LineMatcher`).

        A rule whose matcher RE2 cannot build (more rules than its memory allows) is left to `_bits`.
        """
        with self._together_lock:
            pending = list({rule.test: rule for rule in rules
                            if rule.test not in self._matches and rule.test not in self._one_by_one}.values())
            if not pending:
                return
            hits: dict[tuple[str, str, str], set[int]] = {rule.test: set() for rule in pending}
            for name in ("title", "summary", "source"):
                for form in ("word", "regex"):
                    chosen = [rule for rule in pending if name in _FIELDS_OF[rule.field]
                              and (rule.needle if form == "word" else rule.regex) is not None]
                    if not chosen:
                        continue
                    try:
                        matcher = _LineMatcher(chosen, form)
                    except re2.error as error:
                        log.warning("%d %s rules are matched one by one: %s", len(chosen), form, error)
                        self._one_by_one.update(rule.test for rule in chosen)
                        continue
                    for text, lines in self._distinct_lines(name, form):
                        for index in matcher.matches(text) or ():
                            hits[chosen[index].test].update(lines)
            size = len(self._items)
            for test, found in hits.items():
                if test not in self._one_by_one:
                    self._matches.setdefault(test, as_bits(found, size))

    def _distinct_lines(self, name: str, form: str) -> Iterable[tuple[bytes, Sequence[int]]]:
        """A field's lines with their numbers; each different one once when most repeat (a pool's sources:
        a few hundred outlets), so it is matched once."""
        lines = self._field_lines(name, form)[0].split(b"\n")
        if len(set(lines)) * 2 > len(lines):
            return ((text, (number,)) for number, text in enumerate(lines))
        numbers: dict[bytes, list[int]] = {}
        for number, text in enumerate(lines):
            numbers.setdefault(text, []).append(number)
        return numbers.items()

    def _field_lines(self, name: str, form: str) -> tuple[bytes, list[int]]:
        with self._lock:
            found = self._lines.get((name, form))
            if found is None:
                texts = [getattr(item, name) for item in self._items]
                lines = _folded_lines(texts) if form == "word" else "\n".join(map(plain_text, texts)).encode()
                found = self._lines[(name, form)] = (lines, _line_breaks(lines))
            return found


class _LineMatcher:
    """Many rules of one form, matched against one line at a time: which of them match it.

    `word` rules: an RE2 set of their needles as literals, on the folded line, so a line is one pass
    of a DFA whatever the number of needles (a literal set's states stay few: those of the needles'
    prefixes). `regex` rules: an RE2 filter (FilteredRE2): the literal strings each regex needs
    (its atoms) are found first, by one such set, and only the regexes whose atoms the line holds
    (and those that have none) then search it, each an RE2 search of its own, linear as ever.
    Raises re2.error when RE2 cannot build it within its memory.
    """

    def __init__(self, rules: Sequence[Rule], form: str) -> None:
        if form == "word":
            words = re2.Set.SearchSet(_word_set_options())
            for rule in rules:
                words.Add(rule.needle)
            words.Compile()
            self.matches = words.Match
        else:
            regexes = re2.Filter()
            for rule in rules:
                regexes.Add("(?m)" + strip_accents(rule.pattern), _options())
            regexes.Compile()
            self.matches = regexes.Match  # line -> the indexes (in `rules`) of the rules matching it, or None


@functools.cache
def _word_set_options() -> re2.Options:
    options = re2.Options()
    options.literal = True  # a needle is folded text, matched as it is
    options.never_capture = True
    options.max_mem = _WORD_SET_MAX_MEM
    options.log_errors = False
    return options


def _lines_with(text: bytes, breaks: list[int], needle: bytes) -> set[int]:
    """The lines of `text` holding `needle` (which holds no line break)."""
    found: set[int] = set()
    at = text.find(needle)
    while at >= 0:
        line = bisect_left(breaks, at)
        found.add(line)
        if line == len(breaks):
            break
        at = text.find(needle, breaks[line] + 1)
    return found


def _lines_matching(data: bytes, breaks: list[int], regex: re2._Regexp) -> set[int]:
    """The lines of `data` where `regex` matches: one search per matching line, from the next line on."""
    found: set[int] = set()
    match = _search(regex, data, 0)
    while match is not None:
        line = bisect_left(breaks, match.start())  # an empty match at a line's end is on that line
        found.add(line)
        if line == len(breaks):
            break
        match = _search(regex, data, breaks[line] + 1)
    return found


# Storing a target's rules -----------------------------------------------------------------------


def filters_of(*, session: Session, target_id: int) -> list[TargetFilter]:
    """The target's rules, in the order they were added."""
    return list(session.exec(select(TargetFilter).where(col(TargetFilter.target_id) == target_id)
                             .order_by(col(TargetFilter.id))))


def add_filter(*, session: Session, target_id: int, action: str, kind: str, field: str, pattern: str,
               now: datetime) -> tuple[TargetFilter, bool]:
    """Add a rule to the target (InputError if it is invalid or the target has MAX_RULES); returns it and
    whether it is new (False: the target had this very rule)."""
    rule = parse_rule(action=action, kind=kind, field=field, pattern=pattern)
    existing = filters_of(session=session, target_id=target_id)
    for row in existing:
        if (row.action, row.kind, row.field, row.pattern) == (rule.action, *rule.test):
            return row, False
    if len(existing) >= MAX_RULES:
        raise InputError(f"There are already {MAX_RULES} filter rules here, the most there may be: "
                         "remove one with `filter remove` first.")
    row = TargetFilter(target_id=target_id, action=rule.action, kind=rule.kind, field=rule.field,
                       pattern=rule.pattern, created_at=now)
    session.add(row)
    session.flush()
    return row, True


def replace_filters(*, session: Session, target_id: int, rules: Sequence[tuple[str, str, str]],
                    now: datetime) -> list[TargetFilter]:
    """Make the target's rules exactly `rules`, each (action, kind, pattern) on any field, in that order.

    For a target configured as a whole each time (`briefbot post --webhook`). InputError, and nothing
    changed, when a rule is invalid or there are more than MAX_RULES.
    """
    if len(rules) > MAX_RULES:
        raise InputError(f"At most {MAX_RULES} filter rules may be given (not {len(rules)}).")
    parsed = list(dict.fromkeys(parse_rule(action=action, kind=kind, field="any", pattern=pattern)
                                for action, kind, pattern in rules))
    session.execute(sa.delete(TargetFilter).where(col(TargetFilter.target_id) == target_id))
    rows = [TargetFilter(target_id=target_id, action=rule.action, kind=rule.kind, field=rule.field,
                         pattern=rule.pattern, created_at=now) for rule in parsed]
    session.add_all(rows)
    session.flush()
    return rows


def remove_filter(*, session: Session, target_id: int, rule: str) -> TargetFilter:
    """Remove one of the target's rules, named by its number (`3` or `#3`)."""
    number = rule.strip().removeprefix("#")
    for row in filters_of(session=session, target_id=target_id):
        if number == str(row.id):
            session.delete(row)
            return row
    raise NotFoundError("No such filter rule here. `filter list` shows them with their numbers.")


def filter_set(rows: Iterable[TargetFilter | sa.Row],
               parsed: dict[tuple[str, ...], Rule | None] | None = None) -> FilterSet:
    """The rules of these rows, ready to match; a stored rule that no longer compiles is left out (and logged).

    `parsed` keeps the rules already made, for a slot's targets that share many of theirs.
    """
    parsed = {} if parsed is None else parsed
    rules = []
    for row in rows:
        key = (row.action, row.kind, row.field, row.pattern)
        if key not in parsed:
            try:
                parsed[key] = parse_rule(action=row.action, kind=row.kind, field=row.field, pattern=row.pattern)
            except InputError as error:
                parsed[key] = None
                log.warning("filter rule %s of target %s is skipped: %s", row.id, row.target_id, error)
        if parsed[key] is not None:
            rules.append(parsed[key])
    return FilterSet(tuple(rules))


def filter_set_of(*, session: Session, target_id: int) -> FilterSet:
    """The target's rules, read now."""
    return filter_set(filters_of(session=session, target_id=target_id))


class SlotFilters:
    """The rules of every target due at a slot, read once for the slot's deliveries.

    A snapshot like `digests.targets.SlotReaders`: one query for the slot's thousands of targets
    instead of one each; a rule added after the slot began counts from the target's next slot. A
    target that has no slot at that moment (a `post-now`, a webhook digest) or that the snapshot does
    not hold (its schedule changed since) is read on its own. The latest `slots` slots are kept
    (thread-safe).
    """

    def __init__(self, slots: int = 4) -> None:
        self._slots: OrderedDict[datetime, Future[dict[int, FilterSet]]] = OrderedDict()
        self._size = slots
        self._lock = threading.Lock()

    def get(self, *, session: Session, target: Scheduled, slot_at: datetime) -> FilterSet:
        """The target's rules at `slot_at`."""
        if target.time_of_day is None or not fires_at(time_of_day=target.time_of_day, timezone=target.timezone,
                                                      days=target.days, slot_at=slot_at):
            return filter_set_of(session=session, target_id=target.id)
        with self._lock:
            building = self._slots.get(slot_at)
            mine = building is None
            if building is None:
                building = self._slots[slot_at] = Future()
                while len(self._slots) > self._size:
                    self._slots.popitem(last=False)
        if mine:
            try:
                building.set_result(_filters_due_at(session, slot_at))
            except BaseException as error:
                with self._lock:
                    self._slots.pop(slot_at, None)
                building.set_exception(error)
        found = building.result().get(target.id)
        return found if found is not None else filter_set_of(session=session, target_id=target.id)


def _filters_due_at(session: Session, slot_at: datetime) -> dict[int, FilterSet]:
    """The rules (often none) of every unpaused scheduled target with a slot at `slot_at`.

    Each target's set is `together` with the rules of the targets of its period: those digests cover
    the same window, so they read the same story pool (a daily and a weekly slot read two).
    """
    unpaused = (col(Target.paused).is_(False), col(Target.time_of_day).is_not(None))
    schedules = session.execute(
        sa.select(Target.time_of_day, Target.timezone, Target.days).distinct().where(*unpaused)).all()
    periods = {(time_of_day, zone, days): period_at(time_of_day=time_of_day, timezone=zone, days=days, at=slot_at)
               for time_of_day, zone, days in schedules
               if fires_at(time_of_day=time_of_day, timezone=zone, days=days, slot_at=slot_at)}
    if not periods:
        return {}
    # Plain rows, not TargetFilter objects: a slot of thousands of targets with filters has tens of thousands.
    rows = session.execute(
        sa.select(col(Target.id).label("due_id"), Target.time_of_day, Target.timezone, Target.days, TargetFilter.id,
                  TargetFilter.target_id, TargetFilter.action, TargetFilter.kind, TargetFilter.field,
                  TargetFilter.pattern)
        .outerjoin(TargetFilter, col(TargetFilter.target_id) == col(Target.id))
        .where(*unpaused, sa.tuple_(col(Target.time_of_day), col(Target.timezone), col(Target.days)).in_(list(periods)))
        .order_by(col(Target.id), col(TargetFilter.id))).all()
    by_target: dict[int, tuple[timedelta, list[sa.Row]]] = {}
    for row in rows:
        _, found = by_target.setdefault(row.due_id, (periods[(row.time_of_day, row.timezone, row.days)], []))
        if row.id is not None:
            found.append(row)
    parsed: dict[timedelta, dict[tuple[str, ...], Rule | None]] = {period: {} for period in periods.values()}
    sets = {target_id: filter_set(found, parsed[period]) for target_id, (period, found) in by_target.items()}
    together = {period: tuple(rule for rule in rules.values() if rule is not None) for period, rules in parsed.items()}
    return {target_id: dataclasses.replace(sets[target_id], together=together[period]) if sets[target_id]
            else NO_FILTERS for target_id, (period, _) in by_target.items()}
