"""Database models: stories, topics, the links between them, and ingest runs.

Every timestamp is stored as UTC and comes back timezone-aware on every backend (see `UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

from digests.timeutil import as_utc

# Field caps: feeds can be hostile (an entity expanded into a 40-million-character summary),
# so every text is cut to these lengths before it reaches the store.
TITLE_MAX = 300
SUMMARY_MAX = 400
BODY_MAX = 50_000
SOURCE_MAX = 200
URL_MAX = 2_000
# Discord's own limits: a webhook's display name, its avatar URL, a thread's name.
WEBHOOK_USERNAME_MAX = 80
AVATAR_URL_MAX = 2_048
THREAD_NAME_MAX = 100
# How a target's digest looks: `text` (markdown only) or `rich` (the top story as an embed).
DIGEST_STYLES = ("text", "rich")
# A saved search's words, as a user may type them (a /stories topic: is as long).
SAVED_SEARCH_MAX = 100
# The longest pattern a digest's filter rule may have (see `digests.filters`).
FILTER_PATTERN_MAX = 200


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware DateTime that is UTC in the database and aware UTC in Python.

    SQLite keeps no offset and hands back naive values; this type makes both backends behave alike.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else _utc(value)

    def bind_processor(self, dialect: sa.Dialect):
        """On SQLite, straight to the text SQLAlchemy's DATETIME stores ("2026-11-28 08:00:00.000000").

        The generic path (`process_bind_param`, then SQLite's DATETIME formatting through a dict)
        was 7 % of ingest time, for up to five timestamps a story; `isoformat` writes the same text.
        """
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            # Cutting the "+00:00" is cheaper than replace(tzinfo=None) first.
            return None if value is None else _utc(value).isoformat(" ", "microseconds")[:-6]

        return process

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC)


def utc_column(*, nullable: bool = False, index: bool = False) -> sa.Column:
    """A column of `UTCDateTime`."""
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


def snowflake_column(
    *, nullable: bool = False, index: bool = False, unique: bool = False, primary_key: bool = False
) -> sa.Column:
    """A Discord id: 64-bit, so BIGINT on PostgreSQL."""
    return sa.Column(sa.BigInteger, nullable=nullable, index=index, unique=unique, primary_key=primary_key,
                     autoincrement=False)


class Topic(SQLModel, table=True):
    """A topic of the taxonomy in force (kept in sync with it when the store opens)."""

    slug: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=80)
    emoji: str = Field(default="", max_length=16)
    position: int = 0


class StoryTopic(SQLModel, table=True):
    """A story is about a topic.

    The story's `effective_at` is copied here so that "the newest stories on a topic" is one
    index range scan (topic, time) instead of a join over every story of the topic; the index holds the
    story's id too, so such a walk reads no table row. That index also serves every other lookup by topic.
    """

    __tablename__ = "story_topic"
    __table_args__ = (sa.Index("ix_story_topic_recent", "topic_slug", "effective_at", "story_id"),)

    story_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("story.id", ondelete="CASCADE"), primary_key=True)
    )
    topic_slug: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("topic.slug", ondelete="CASCADE"), primary_key=True
        )
    )
    effective_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class Story(SQLModel, table=True):
    """One article or headline.

    `dedupe_key` is the canonical URL (tracking parameters removed) or, without a URL, the
    normalised title plus source; it is unique, so the same story is stored once.
    `effective_at` is the time the story counts from: its published time, or its ingest time
    when it has none or claims one later than its ingest. A `public` story came from a
    deployment-wide source and is seen everywhere; otherwise only the guilds in `story_guild`
    (those whose feeds carried it) see it. `public_at` is when it became public (None while it is
    not): a digest counts a public story as new from then, not from when a guild's feed stored it.
    """

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=URL_MAX + 100, unique=True)
    title: str = Field(max_length=TITLE_MAX)
    url: str | None = Field(default=None, max_length=URL_MAX)
    # The article's picture as its feed gave it (an http(s) URL, checked at ingest); shown by rich digests.
    image_url: str | None = Field(default=None, max_length=URL_MAX)
    canonical_url: str | None = Field(default=None, max_length=URL_MAX)
    source: str = Field(max_length=SOURCE_MAX)
    summary: str = Field(default="", max_length=SUMMARY_MAX)
    body: str | None = Field(default=None, sa_type=sa.Text)
    published_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    ingested_at: datetime = Field(sa_column=utc_column(index=True))
    effective_at: datetime = Field(sa_column=utc_column(index=True))
    public: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    public_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True, index=True))


class StoryGuild(SQLModel, table=True):
    """A guild's feed carried this story, so the guild sees it even if it is not public.

    `shared_at` is when the guild's feed first carried it: the guild's digests count it as new from
    then (or from `Story.public_at`, if that is earlier), whichever guild stored it first.
    """

    __tablename__ = "story_guild"

    story_id: int = Field(sa_column=sa.Column(sa.ForeignKey("story.id", ondelete="CASCADE"), primary_key=True))
    guild_id: int = Field(sa_column=snowflake_column(primary_key=True, index=True))
    shared_at: datetime = Field(sa_column=utc_column())


class GuildDailyStories(SQLModel, table=True):
    """How many stories a guild's feeds stored on `day` (UTC): the daily quota counts against it.

    One row a guild, started again on the first story of each day.
    """

    __tablename__ = "guild_daily_stories"

    guild_id: int = Field(sa_column=snowflake_column(primary_key=True))
    day: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    stored: int = 0


class MemberGuild(SQLModel, table=True):
    """A user was seen using the bot in a guild: their personal digest includes that guild's own stories."""

    __tablename__ = "member_guild"

    user_id: int = Field(sa_column=snowflake_column(primary_key=True))
    guild_id: int = Field(sa_column=snowflake_column(primary_key=True))


class IngestRun(SQLModel, table=True):
    """One source read by `ingest`: what it added and, if it failed, why."""

    __tablename__ = "ingest_run"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=URL_MAX)
    started_at: datetime = Field(sa_column=utc_column())
    new: int = 0
    duplicates: int = 0
    error: str | None = Field(default=None, max_length=1_000)



class Target(SQLModel, table=True):
    """Something that gets a digest: a channel briefing, a personal digest or a webhook digest.

    One shape for every target. What every kind has lives here, once: the schedule (`time_of_day`,
    `timezone`, `days`), the pause (`paused`, the `pause_reason` shown to users), `created_at`, the
    watermark `last_delivered_at` (the next digest holds only what arrived after it) and the `style`.
    What only one kind has lives in that kind's table (`ChannelBriefing`, `PersonalDigest`,
    `WebhookDigest`), whose primary key is this `id`: one id per target, whatever its kind, so what
    applies to any target (filters, saved searches and feed routing next) can refer to `target.id`
    alone instead of a (kind, key) pair per table, and a new shared setting is one column here, not
    one per kind. It is the layout of SQLAlchemy's joined-table inheritance, which SQLModel cannot
    map: each kind's row holds its `target` (loaded with it, in one query) and reads and writes the
    shared fields through it, so code that has a briefing writes `briefing.paused` as before.
    Deleting a kind's row deletes its target, and the other way round.

    `kind` is `channel`, `user` or `webhook`. `days` is `daily`, `weekdays`, `weekends` or a list
    such as `mon,wed,fri` (personal digests are daily). `topics` is a comma-separated list of slugs
    (empty: all topics) for briefings and webhook digests; a personal digest follows its user's
    `Subscription`s instead, so it keeps this empty. A webhook digest has no schedule of its own
    (cron runs `briefbot post`), so its `time_of_day` is None.
    """

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)
    time_of_day: str | None = Field(default=None, max_length=5)
    timezone: str = Field(max_length=64)
    days: str = Field(default="daily", max_length=40)
    topics: str = Field(default="", max_length=1_000)
    paused: bool = False
    pause_reason: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(sa_column=utc_column())
    last_delivered_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # How its digests look: `text` or `rich` (see DIGEST_STYLES); webhook digests stay `text`.
    style: str = Field(default="text", max_length=8, sa_column_kwargs={"server_default": "text"})

    @property
    def topic_slugs(self) -> list[str]:
        """The topics as a list; empty means all topics."""
        return [slug for slug in self.topics.split(",") if slug]


# The fields every kind shares, kept on `Target`.
TARGET_FIELDS = ("time_of_day", "timezone", "days", "topics", "paused", "pause_reason", "created_at",
                 "last_delivered_at", "style")


def _target_id_column() -> sa.Column:
    """A kind's primary key: its target's id (deleting the target deletes the row)."""
    return sa.Column(sa.ForeignKey("target.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)


def _target_relationship():
    """A kind's `target`: loaded in the same query (an inner join), saved and deleted with the row."""
    return Relationship(sa_relationship_kwargs={"lazy": "joined", "innerjoin": True, "single_parent": True,
                                                "cascade": "all, delete-orphan"})


def _through_target(name: str) -> property:
    """A shared field of the row's target, read and written as if it were the row's own (see `Target`)."""
    return property(lambda row: getattr(row.target, name), lambda row, value: setattr(row.target, name, value),
                    doc=f"The target's `{name}` (see `Target`).")


class _TargetFields:
    """The shared fields of a kind's row, each read and written through its `target`.

    A row is built with them as if they were its own (`ChannelBriefing(channel_id=…, time_of_day=…)`):
    they go to its new `Target`. Python-side only: queries name `Target`'s columns (joined on `id`).
    """

    KIND: ClassVar[str]

    def __init__(self, **values: object) -> None:
        shared = {name: values.pop(name) for name in TARGET_FIELDS if name in values}
        if "target" not in values:
            values["target"] = Target(kind=self.KIND, **shared)
        elif shared:
            raise TypeError("give the shared fields to the Target, or no Target")
        super().__init__(**values)

    time_of_day = _through_target("time_of_day")
    timezone = _through_target("timezone")
    days = _through_target("days")
    topics = _through_target("topics")
    paused = _through_target("paused")
    pause_reason = _through_target("pause_reason")
    created_at = _through_target("created_at")
    last_delivered_at = _through_target("last_delivered_at")
    style = _through_target("style")

    @property
    def topic_slugs(self) -> list[str]:
        """The target's topics as a list; empty means all topics."""
        return self.target.topic_slugs


class ChannelBriefing(_TargetFields, SQLModel, table=True):
    """A scheduled briefing posted into one channel of a guild (its schedule and watermark: `Target`).

    With a `webhook_url` (a secret: it holds the webhook's token) the briefing is posted through
    that channel webhook instead of the bot.
    """

    KIND: ClassVar[str] = "channel"
    __tablename__ = "channel_briefing"

    id: int | None = Field(default=None, sa_column=_target_id_column())
    target: Target = _target_relationship()
    guild_id: int = Field(sa_column=snowflake_column(index=True))
    channel_id: int = Field(sa_column=snowflake_column(unique=True))
    mention_role_id: int | None = Field(default=None, sa_column=snowflake_column(nullable=True))
    webhook_url: str | None = Field(default=None, max_length=300, repr=False)
    # How the webhook presents itself, and the thread of the channel it posts into (None: the channel).
    webhook_username: str | None = Field(default=None, max_length=WEBHOOK_USERNAME_MAX)
    webhook_avatar_url: str | None = Field(default=None, max_length=AVATAR_URL_MAX)
    webhook_thread_id: int | None = Field(default=None, sa_column=snowflake_column(nullable=True))
    # Where the briefing lands in its channel (see `ChannelKind`): a forum or media channel gets a new
    # post per briefing, with `forum_tag_id` applied; a text or announcement channel gets the parts as
    # messages, with a discussion thread opened from the first when `open_thread`; an announcement
    # channel's parts are crossposted to following servers when `publish`.
    channel_kind: str = Field(default="text", max_length=12, sa_column_kwargs={"server_default": "text"})
    forum_tag_id: int | None = Field(default=None, sa_column=snowflake_column(nullable=True))
    open_thread: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    publish: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    quiet_day_notice: bool = False
    # The web archive (see digests.archive): whether deliveries are archived and served, and the random
    # token of its URLs, kept when the archive is turned off so turning it on again keeps its links.
    archive: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    archive_token: str | None = Field(default=None, max_length=40, unique=True, index=True, repr=False)


class PersonalDigest(_TargetFields, SQLModel, table=True):
    """A user's personal digest, sent by DM (its schedule, pause, watermark: `Target`; its topics: `Subscription`)."""

    KIND: ClassVar[str] = "user"
    __tablename__ = "personal_digest"

    id: int | None = Field(default=None, sa_column=_target_id_column())
    target: Target = _target_relationship()
    user_id: int = Field(sa_column=snowflake_column(unique=True))
    # The DM channel Discord opened with the user, once it has: a DM then costs one request, after a
    # restart too (10,000 users' first digests after a restart would otherwise take 200 s longer).
    dm_channel_id: int | None = Field(default=None, sa_column=snowflake_column(nullable=True))


class WebhookDigest(_TargetFields, SQLModel, table=True):
    """A digest posted through a Discord webhook by `briefbot post --webhook` (its watermark: `Target`)."""

    KIND: ClassVar[str] = "webhook"
    __tablename__ = "webhook_digest"

    id: int | None = Field(default=None, sa_column=_target_id_column())
    target: Target = _target_relationship()
    webhook_id: int = Field(sa_column=snowflake_column(unique=True))
    webhook_url: str = Field(max_length=300, repr=False)
    # The name and avatar to post under; a thread to post into, or (a forum's webhook) the name that
    # starts each digest's new post.
    username: str | None = Field(default=None, max_length=WEBHOOK_USERNAME_MAX)
    avatar_url: str | None = Field(default=None, max_length=AVATAR_URL_MAX)
    thread_id: int | None = Field(default=None, sa_column=snowflake_column(nullable=True))
    thread_name: str | None = Field(default=None, max_length=THREAD_NAME_MAX)


class TargetFilter(SQLModel, table=True):
    """One include or exclude rule of a target's digest (see `digests.filters`): deleted with its target.

    `action` is `include` or `exclude`; `kind` `word` (a word or phrase) or `regex` (RE2); `field` the
    story's `title`, `summary`, `source` or `any` of them; `pattern` as the user typed it.
    """

    __tablename__ = "target_filter"

    id: int | None = Field(default=None, primary_key=True)
    target_id: int = Field(sa_column=sa.Column(sa.ForeignKey("target.id", ondelete="CASCADE"), nullable=False,
                                               index=True))
    action: str = Field(max_length=8)
    kind: str = Field(max_length=8)
    field: str = Field(max_length=8)
    pattern: str = Field(max_length=FILTER_PATTERN_MAX)
    created_at: datetime = Field(sa_column=utc_column())


class Subscription(SQLModel, table=True):
    """A user follows a topic in their personal digest."""

    user_id: int = Field(sa_column=snowflake_column(primary_key=True))
    topic_slug: str = Field(
        sa_column=sa.Column(sa.String(40), sa.ForeignKey("topic.slug", ondelete="CASCADE"), primary_key=True)
    )
    created_at: datetime = Field(sa_column=utc_column())


class Feed(SQLModel, table=True):
    """A feed polled for stories: deployment-wide (`guild_id` None) or added by a guild's manager.

    `etag` / `last_modified` make the next poll conditional; after a failure `next_poll_at` backs
    off exponentially, and after too many in a row the feed is disabled (`enabled` False) with its
    last error kept; `disabled_announced` records that the guild was told once. A URL is registered
    once per guild and once deployment-wide, even by processes adding it at the same moment.
    """

    __table_args__ = (sa.Index("ux_feed_url_guild", "url", sa.text("coalesce(guild_id, 0)"), unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=URL_MAX)
    title: str | None = Field(default=None, max_length=300)  # from an imported OPML outline
    guild_id: int | None = Field(default=None, sa_column=snowflake_column(nullable=True, index=True))
    topic_slug: str | None = Field(default=None, max_length=40)
    added_by: int | None = Field(default=None, sa_column=snowflake_column(nullable=True))
    created_at: datetime = Field(sa_column=utc_column())
    enabled: bool = True
    failures: int = 0
    last_success_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_error: str | None = Field(default=None, max_length=1_000)
    last_error_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    etag: str | None = Field(default=None, max_length=300)
    last_modified: str | None = Field(default=None, max_length=100)
    next_poll_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True, index=True))
    poll_interval_minutes: int = 15
    disabled_announced: bool = False


class StoryFeed(SQLModel, table=True):
    """A registered feed carried this story (a story many feeds carry has a row for each).

    Written at every poll, for new stories and those already stored, so a briefing limited to some
    feeds (`TargetFeed`) takes what they carry. Stories stored before migration 0019, or by `briefbot
    ingest`, have none until a feed carries them again.
    """

    __tablename__ = "story_feed"

    story_id: int = Field(sa_column=sa.Column(sa.ForeignKey("story.id", ondelete="CASCADE"), primary_key=True))
    feed_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("feed.id", ondelete="CASCADE"), primary_key=True, index=True)
    )


class SavedSearch(SQLModel, table=True):
    """Words a target follows besides its topics: its digest gets a section of the stories matching them.

    `query` is the words as typed, spaces tidied (at most SAVED_SEARCH_MAX characters); matched with
    the full-text search of `/stories` (see `digests.selection.StoryPool.with_searches`).
    """

    __tablename__ = "saved_search"
    __table_args__ = (sa.UniqueConstraint("target_id", "query", name="uq_saved_search_query"),)

    id: int | None = Field(default=None, primary_key=True)
    # Found by target through the unique constraint's index (target_id first).
    target_id: int = Field(sa_column=sa.Column(sa.ForeignKey("target.id", ondelete="CASCADE"), nullable=False))
    query: str = Field(max_length=SAVED_SEARCH_MAX)
    created_at: datetime = Field(sa_column=utc_column())


class TargetFeed(SQLModel, table=True):
    """A target is limited to the stories of some feeds: with any row, it takes only what those feeds carry.

    A guild's briefing may choose its guild's own feeds and deployment-wide ones (see
    `digests.feed_routing`).
    """

    __tablename__ = "target_feed"

    target_id: int = Field(sa_column=sa.Column(sa.ForeignKey("target.id", ondelete="CASCADE"), primary_key=True))
    feed_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("feed.id", ondelete="CASCADE"), primary_key=True, index=True)
    )


class Delivery(SQLModel, table=True):
    """One digest for one target and one slot; the unique (target, slot) row is the claim.

    `target_kind` is `channel` (target_id: the channel), `user` (target_id: the user) or `webhook`
    (target_id: the webhook): the claim names where the digest goes, not the `Target` row, so a
    channel never gets two digests of one slot even when its briefing is removed and set up again
    within it, and a removed target's deliveries stay, as history (`Target.id` would give neither).
    `status`: `sending` while parts go out, then `done`, `failed` (permanent error) or `empty`.
    `parts` (a JSON list) is the rendered digest (each part a string, or an object with the part's
    content and its embed: see `digests.message_parts`), fixed when the slot is claimed, so a delivery
    resumed after a crash sends the same messages it started with. While `sending`, the process
    named by `lease_owner` holds it until `lease_until` (renewed with each part); another process
    takes an unfinished delivery over only once that lease has expired.
    """

    __table_args__ = (sa.UniqueConstraint("target_kind", "target_id", "slot_at", name="uq_delivery_target_slot"),)

    id: int | None = Field(default=None, primary_key=True)
    target_kind: str = Field(max_length=10)
    target_id: int = Field(sa_column=snowflake_column())
    slot_at: datetime = Field(sa_column=utc_column())
    status: str = Field(default="sending", max_length=10)
    parts: str = Field(default="[]", sa_type=sa.Text)
    claimed_at: datetime = Field(sa_column=utc_column())
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    error: str | None = Field(default=None, max_length=500)
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # A forum post or discussion thread made for this delivery: `thread_requested_at` is written before
    # Discord is asked for it, `thread_id` once Discord made it, so a delivery resumed in between looks
    # for the post before it makes another.
    thread_requested_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    thread_id: int | None = Field(default=None, sa_column=snowflake_column(nullable=True))


class DeliveryPart(SQLModel, table=True):
    """A message part of a delivery that Discord accepted, with its message id."""

    __tablename__ = "delivery_part"

    delivery_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("delivery.id", ondelete="CASCADE"), primary_key=True)
    )
    part_index: int = Field(primary_key=True)
    message_id: int = Field(sa_column=snowflake_column())
    sent_at: datetime = Field(sa_column=utc_column())
    # Crossposted to the servers following the announcement channel (only with `publish`).
    published: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class ArchiveEntry(SQLModel, table=True):
    """A channel briefing's delivery as its web archive shows it (see `digests.archive`).

    Written in the same transaction as the delivery's claim, from the same digest the posted
    messages were rendered from, so each delivery is archived once with exactly what was posted;
    it is shown once its delivery is `done`. `content` is that digest as JSON (a snapshot: the
    stories may change or go later). `key` names the entry in its URL: the slot's local date and
    time (`2026-11-30-0800`, `-2` and so on when a post-now falls in the same minute). Deleting the
    briefing deletes its archive.
    """

    __tablename__ = "archive_entry"
    __table_args__ = (sa.UniqueConstraint("briefing_id", "key", name="uq_archive_entry_key"),
                      sa.Index("ix_archive_entry_recent", "briefing_id", "slot_at"))

    id: int | None = Field(default=None, primary_key=True)
    briefing_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("channel_briefing.id", ondelete="CASCADE"), nullable=False)
    )
    delivery_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("delivery.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    key: str = Field(max_length=40)
    slot_at: datetime = Field(sa_column=utc_column())
    timezone: str = Field(max_length=64)
    content: str = Field(sa_type=sa.Text)
