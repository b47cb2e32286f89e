"""Exactly one digest per target and slot: claims, recorded parts, resume, errors; a recording publisher."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select

from digests.delivery import Deliverer, Destination, claim
from digests.errors import DeliveryError
from digests.ingest.draft import StoryDraft
from digests.models import ChannelBriefing, Delivery, DeliveryPart
from digests.store import add_stories, session_scope
from digests.targets import personal_digest_of, setup_briefing, subscribe


class RecordingPublisher:
    """Records what would reach Discord; can fail on a chosen send."""

    def __init__(self) -> None:
        self.sent: list[tuple[Destination, str, str, int | None]] = []
        self.fail_on: dict[int, BaseException] = {}  # call number (from 0) -> what that call raises
        self.calls = 0

    async def send(self, destination: Destination, content: str, *, nonce: str, mention_role_id: int | None) -> int:
        self.calls += 1
        if self.calls - 1 in self.fail_on:
            raise self.fail_on.pop(self.calls - 1)
        self.sent.append((destination, content, nonce, mention_role_id))
        return 9000 + len(self.sent)


class Crash(Exception):
    """The process dying between two parts."""


class RecordingTelemetry:
    """Counts what the domain reports, as the bot's metrics would."""

    def __init__(self) -> None:
        self.deliveries: Counter[tuple[str, str]] = Counter()
        self.parts: Counter[str] = Counter()
        self.polls: Counter[str] = Counter()
        self.new_stories = 0

    def delivery_ended(self, kind: str, outcome: str) -> None:
        self.deliveries[kind, outcome] += 1

    def part_sent(self, kind: str) -> None:
        self.parts[kind] += 1

    def feed_polled(self, outcome: str, new_stories: int) -> None:
        self.polls[outcome] += 1
        self.new_stories += new_stories


@pytest.fixture
def stories(engine, taxonomy, now):
    # Fourteen different events (no shared words), with titles long enough to need several messages.
    long_titles = [StoryDraft(title=f"Tariff story {i}: " + " ".join(f"w{i}x{k}" for k in range(40)), source=f"S{i}")
                   for i in range(14)]
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=2), drafts=[
            StoryDraft(title="NATO ministers meet", source="Wire", body="Defence ministers met in Brussels."),
            *long_titles,
        ])


def briefing(engine, taxonomy, now, **overrides) -> ChannelBriefing:
    values = {"guild_id": 1, "channel_id": 55, "time_of_day": "08:00", "timezone": "UTC", "topics": None,
              "days": None, "mention_role_id": None, "quiet_day_notice": None}
    with session_scope(engine) as session:
        target, _ = setup_briefing(session=session, taxonomy=taxonomy, now=now - timedelta(days=1),
                                   **{**values, **overrides})
        return target


def deliverer(engine, taxonomy, renderer, now, publisher, owner: str = "process-1",
              telemetry: RecordingTelemetry | None = None) -> Deliverer:
    return Deliverer(engine=engine, taxonomy=taxonomy, renderer=renderer, publisher=publisher, clock=lambda: now,
                     owner=owner, **({"telemetry": telemetry} if telemetry else {}))


async def test_a_slot_is_delivered_once_with_every_part_recorded(engine, taxonomy, renderer, now, stories):
    target = briefing(engine, taxonomy, now)
    publisher = RecordingPublisher()
    report = await deliverer(engine, taxonomy, renderer, now, publisher).deliver(target, slot_at=now)
    assert report.status == "done" and report.parts_total > 1
    assert report.parts_sent == report.parts_total == len(publisher.sent)
    assert [nonce for _, _, nonce, _ in publisher.sent] == [f"bb1p{i}" for i in range(report.parts_total)]
    assert all(dest == Destination("channel", 55, guild_id=1) for dest, *_ in publisher.sent)
    again = await deliverer(engine, taxonomy, renderer, now, publisher).deliver(target, slot_at=now)
    assert again.status == "done" and len(publisher.sent) == report.parts_total
    with session_scope(engine) as session:
        assert session.get(ChannelBriefing, target.id).last_delivered_at == now
        assert len(session.exec(select(Delivery)).all()) == 1


async def test_a_crash_between_parts_resumes_with_the_next_part(engine, taxonomy, renderer, now, stories):
    target = briefing(engine, taxonomy, now)
    dying = RecordingPublisher()
    dying.fail_on[1] = Crash()
    with pytest.raises(Crash):
        await deliverer(engine, taxonomy, renderer, now, dying).deliver(target, slot_at=now)
    assert len(dying.sent) == 1
    with session_scope(engine) as session:
        assert session.exec(select(Delivery.status)).one() == "sending"
        assert session.get(ChannelBriefing, target.id).last_delivered_at is None  # no story lost

    # New stories arrive before the restart: the resumed delivery still sends what it started with.
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now, drafts=[StoryDraft(title="Late tariffs", source="X")])
    restarted = RecordingPublisher()
    report = await deliverer(engine, taxonomy, renderer, now + timedelta(minutes=3), restarted).deliver(
        target, slot_at=now)
    assert report.status == "done"
    contents = [dying.sent[0][1]] + [content for _, content, _, _ in restarted.sent]
    assert len(contents) == report.parts_total
    assert "Late tariffs" not in "".join(contents)
    assert restarted.sent[0][2] == "bb1p1"
    with session_scope(engine) as session:
        parts = session.exec(select(DeliveryPart.part_index)).all()
    assert sorted(parts) == list(range(report.parts_total))


async def test_a_permanent_error_pauses_the_target_and_keeps_its_stories(engine, taxonomy, renderer, now, stories):
    target = briefing(engine, taxonomy, now)
    publisher = RecordingPublisher()
    publisher.fail_on[0] = DeliveryError("the bot lacks permission to post there", permanent=True)
    report = await deliverer(engine, taxonomy, renderer, now, publisher).deliver(target, slot_at=now)
    assert (report.status, report.parts_sent, report.error) == ("failed", 0, "the bot lacks permission to post there")
    with session_scope(engine) as session:
        stored = session.get(ChannelBriefing, target.id)
    assert stored.paused and stored.pause_reason == "the bot lacks permission to post there"
    assert stored.last_delivered_at is None


async def test_a_transient_error_leaves_the_slot_to_be_resumed(engine, taxonomy, renderer, now, stories):
    target = briefing(engine, taxonomy, now)
    publisher = RecordingPublisher()
    publisher.fail_on[0] = DeliveryError("Discord unavailable", permanent=False)
    with pytest.raises(DeliveryError):
        await deliverer(engine, taxonomy, renderer, now, publisher).deliver(target, slot_at=now)
    report = await deliverer(engine, taxonomy, renderer, now, publisher).deliver(target, slot_at=now)
    assert report.status == "done" and report.parts_sent == len(publisher.sent)
    with session_scope(engine) as session:
        assert not session.get(ChannelBriefing, target.id).paused


async def test_an_empty_digest_is_not_posted_unless_the_channel_wants_a_quiet_day_notice(engine, taxonomy,
                                                                                         renderer, now):
    silent = briefing(engine, taxonomy, now, channel_id=1)
    quiet = briefing(engine, taxonomy, now, channel_id=2, quiet_day_notice=True)
    publisher = RecordingPublisher()
    report = await deliverer(engine, taxonomy, renderer, now, publisher).deliver(silent, slot_at=now)
    assert report.status == "empty" and publisher.sent == []
    report = await deliverer(engine, taxonomy, renderer, now, publisher).deliver(quiet, slot_at=now)
    assert report.status == "done" and "quiet day" in publisher.sent[0][1]


async def test_a_personal_digest_goes_by_dm_with_the_users_topics_only(engine, taxonomy, renderer, now, stories):
    with session_scope(engine) as session:
        subscribe(session=session, taxonomy=taxonomy, user_id=77, topic="defense", default_timezone="UTC",
                  now=now - timedelta(days=1))
        digest = personal_digest_of(session=session, user_id=77)
    publisher = RecordingPublisher()
    report = await deliverer(engine, taxonomy, renderer, now, publisher).deliver(digest, slot_at=now)
    assert report.status == "done" and len(publisher.sent) == 1
    destination, content, _, mention = publisher.sent[0]
    assert destination == Destination("user", 77) and mention is None
    assert "NATO ministers meet" in content and "Tariff" not in content


async def test_the_opted_in_role_is_passed_to_the_publisher(engine, taxonomy, renderer, now, stories):
    target = briefing(engine, taxonomy, now, mention_role_id=4242)
    publisher = RecordingPublisher()
    await deliverer(engine, taxonomy, renderer, now, publisher).deliver(target, slot_at=now)
    assert {mention for *_, mention in publisher.sent} == {4242}
    assert publisher.sent[0][1].startswith("<@&4242>")


async def test_a_late_delivery_sends_the_slots_digest_and_leaves_later_stories_to_the_next(engine, taxonomy,
                                                                                            renderer, now):
    with session_scope(engine) as session:
        subscribe(session=session, taxonomy=taxonomy, user_id=77, topic="trade", default_timezone="UTC",
                  now=now - timedelta(days=2))
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=1),
                    drafts=[StoryDraft(title="Tariffs on steel", source="Wire")])
        add_stories(session=session, taxonomy=taxonomy, now=now + timedelta(minutes=4),
                    drafts=[StoryDraft(title="Tariffs on wine", source="Wire")])
        target = personal_digest_of(session=session, user_id=77)
    publisher = RecordingPublisher()
    late = deliverer(engine, taxonomy, renderer, now + timedelta(minutes=5), publisher)  # the clock: 5 min late
    await late.deliver(target, slot_at=now)
    with session_scope(engine) as session:
        target = personal_digest_of(session=session, user_id=77)
        assert target.last_delivered_at == now  # the watermark is the slot, not the clock
    await late.deliver(target, slot_at=now + timedelta(days=1))
    assert ["wine" in content for _, content, _, _ in publisher.sent] == [False, True]
    assert "Tariffs on steel" in publisher.sent[0][1] and "steel" not in publisher.sent[1][1]


def test_two_claims_of_one_slot_share_one_delivery(engine, taxonomy, renderer, now, stories):
    target = briefing(engine, taxonomy, now)
    with session_scope(engine) as first, session_scope(engine) as second:
        a = claim(session=first, taxonomy=taxonomy, renderer=renderer, target=target, slot_at=now, now=now)
        first.commit()
        b = claim(session=second, taxonomy=taxonomy, renderer=renderer, target=target, slot_at=now, now=now)
    assert a.delivery.id == b.delivery.id and a.parts == b.parts


async def test_another_process_takes_an_unfinished_delivery_over_only_after_its_lease(engine, taxonomy, renderer,
                                                                                      now, stories):
    target = briefing(engine, taxonomy, now)
    first = RecordingPublisher()
    first.fail_on[1] = Crash()  # process 1 dies after its first part
    with pytest.raises(Crash):
        await deliverer(engine, taxonomy, renderer, now, first, owner="process-1").deliver(target, slot_at=now)

    second = RecordingPublisher()
    meanwhile = await deliverer(engine, taxonomy, renderer, now + timedelta(seconds=30), second,
                                owner="process-2").deliver(target, slot_at=now)
    assert meanwhile.status == "sending" and second.sent == []  # process 1's lease still holds

    later = await deliverer(engine, taxonomy, renderer, now + timedelta(minutes=3), second,
                            owner="process-2").deliver(target, slot_at=now)
    assert later.status == "done"
    assert len(first.sent) + len(second.sent) == later.parts_total
    assert second.sent[0][2] == "bb1p1"
    with session_scope(engine) as session:
        assert session.exec(select(Delivery.lease_owner)).one() == "process-2"


async def test_a_restart_on_the_same_host_resumes_a_dead_processs_delivery_at_once(engine, taxonomy, renderer,
                                                                                   now, stories):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead_owner = f"{socket.gethostname()}:{dead.stdout.strip()}:abc123"
    target = briefing(engine, taxonomy, now)
    first = RecordingPublisher()
    first.fail_on[1] = Crash()
    with pytest.raises(Crash):
        await deliverer(engine, taxonomy, renderer, now, first, owner=dead_owner).deliver(target, slot_at=now)
    restarted = RecordingPublisher()
    report = await deliverer(engine, taxonomy, renderer, now + timedelta(seconds=5), restarted,
                             owner="process-2").deliver(target, slot_at=now)
    assert report.status == "done" and len(first.sent) + len(restarted.sent) == report.parts_total


async def test_a_slot_delivered_after_a_post_now_neither_repeats_its_stories_nor_moves_the_watermark_back(
        engine, taxonomy, renderer, now):
    target = briefing(engine, taxonomy, now, quiet_day_notice=True)
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now + timedelta(seconds=30),
                    drafts=[StoryDraft(title="NATO ministers meet", source="Wire")])
    publisher = RecordingPublisher()
    post_now = now + timedelta(minutes=1)  # a manager's /briefing post-now, just after the 08:00 slot
    await deliverer(engine, taxonomy, renderer, post_now, publisher).deliver(target, slot_at=post_now)
    late = await deliverer(engine, taxonomy, renderer, post_now, publisher).deliver(target, slot_at=now)
    with session_scope(engine) as session:
        assert session.get(ChannelBriefing, target.id).last_delivered_at == post_now
        target = session.get(ChannelBriefing, target.id)
    next_day = await deliverer(engine, taxonomy, renderer, now + timedelta(days=1), publisher).deliver(
        target, slot_at=now + timedelta(days=1))
    assert late.status == "empty"  # no quiet-day notice either: the post-now held the slot's stories
    assert next_day.status == "done" and ["NATO" in content for _, content, _, _ in publisher.sent] == [True, False]


async def test_telemetry_counts_each_delivery_by_outcome_and_each_part_once(engine, taxonomy, renderer, now, stories):
    telemetry = RecordingTelemetry()
    sent, silent, refused, flaky = (briefing(engine, taxonomy, now, channel_id=n) for n in (1, 2, 3, 4))
    with session_scope(engine) as session:  # nothing new for channel 2 since its last slot
        session.get(ChannelBriefing, silent.id).last_delivered_at = now
    publisher = RecordingPublisher()
    report = await deliverer(engine, taxonomy, renderer, now, publisher, telemetry=telemetry).deliver(sent, slot_at=now)
    for again in ("process-1", "process-2"):  # the same slot again, by this process or another: nothing to count
        await deliverer(engine, taxonomy, renderer, now, publisher, again, telemetry).deliver(sent, slot_at=now)
    for owner in ("process-1", "process-2"):  # an empty digest is counted by the claim that made it only
        await deliverer(engine, taxonomy, renderer, now, publisher, owner, telemetry).deliver(silent, slot_at=now)
    publisher.fail_on[publisher.calls] = DeliveryError("Missing Access", permanent=True)
    await deliverer(engine, taxonomy, renderer, now, publisher, telemetry=telemetry).deliver(refused, slot_at=now)
    publisher.fail_on[publisher.calls + 1] = DeliveryError("Discord unavailable", permanent=False)
    with pytest.raises(DeliveryError):
        await deliverer(engine, taxonomy, renderer, now, publisher, telemetry=telemetry).deliver(flaky, slot_at=now)

    assert report.parts_total > 1
    assert telemetry.deliveries == Counter({("channel", "done"): 1, ("channel", "empty"): 1,
                                            ("channel", "failed"): 1, ("channel", "postponed"): 1})
    assert telemetry.parts == Counter({"channel": report.parts_total + 1})  # flaky's first part went out
    assert telemetry.parts["channel"] == len(publisher.sent)


class EmbedRecordingPublisher(RecordingPublisher):
    """A publisher that takes embeds, recording each part's embed (None for a text part)."""

    def __init__(self) -> None:
        super().__init__()
        self.embeds: list = []

    async def send(self, destination, content, *, nonce, mention_role_id, embed=None) -> int:
        message_id = await super().send(destination, content, nonce=nonce, mention_role_id=mention_role_id)
        self.embeds.append(embed)
        return message_id


async def test_a_rich_briefing_sends_its_top_story_embed_first_and_a_resumed_one_sends_the_same(
        engine, taxonomy, renderer, now):
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now - timedelta(hours=2), drafts=[
            StoryDraft(title="NATO ministers meet in Brussels", source="Wire", url="https://wire.example/nato",
                       body="Defence ministers met.", image_url="https://img.example/nato.jpg"),
            *[StoryDraft(title=f"Tariff story {i}: " + " ".join(f"w{i}x{k}" for k in range(40)), source=f"S{i}")
              for i in range(14)]])
    target = briefing(engine, taxonomy, now, style="rich")
    dying = EmbedRecordingPublisher()
    dying.fail_on[2] = Crash()
    with pytest.raises(Crash):
        await deliverer(engine, taxonomy, renderer, now, dying).deliver(target, slot_at=now)
    first = dying.embeds[0]
    assert first.title == "NATO ministers meet in Brussels" and first.image_url == "https://img.example/nato.jpg"
    assert dying.embeds[1] is None and "NATO" not in dying.sent[1][1]
    # The story's picture changes before the restart: the resumed delivery sends what it started with.
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=now, drafts=[StoryDraft(
            title="NATO ministers meet in Brussels", source="Wire", url="https://wire.example/nato",
            body="Defence ministers met.", image_url="https://img.example/other.jpg")])
    restarted = EmbedRecordingPublisher()
    report = await deliverer(engine, taxonomy, renderer, now + timedelta(minutes=3), restarted).deliver(
        target, slot_at=now)
    assert report.status == "done" and report.parts_sent == report.parts_total == 2 + len(restarted.sent)
    assert restarted.embeds == [None] * len(restarted.sent)
    with session_scope(engine) as session:
        stored = session.exec(select(Delivery.parts)).one()
    assert "https://img.example/nato.jpg" in stored and "other.jpg" not in stored


async def test_a_delivery_stored_before_rich_digests_resumes_from_its_plain_parts(engine, taxonomy, renderer, now):
    import json

    target = briefing(engine, taxonomy, now)
    with session_scope(engine) as session:  # as an older version left it: plain strings, the first one sent
        delivery = Delivery(target_kind="channel", target_id=55, slot_at=now, status="sending", claimed_at=now,
                            parts=json.dumps(["## 📰 Old part one", "• old part two"]), lease_owner="gone",
                            lease_until=now - timedelta(minutes=5))
        session.add(delivery)
        session.flush()
        session.add(DeliveryPart(delivery_id=delivery.id, part_index=0, message_id=77, sent_at=now))
    publisher = EmbedRecordingPublisher()
    report = await deliverer(engine, taxonomy, renderer, now, publisher).deliver(target, slot_at=now)
    assert report.status == "done" and [content for _, content, _, _ in publisher.sent] == ["• old part two"]
    assert publisher.embeds == [None]
