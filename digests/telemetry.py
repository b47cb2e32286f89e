"""What the domain tells whoever counts its work: deliveries, message parts, feed polls.

The domain knows nothing of Prometheus: the deliverer and the feed poller call a `Telemetry`
where things happen, and the bot passes one that keeps Prometheus counters (`bot.metrics`).
The CLI and the tests leave the default, which counts nothing.
"""

from __future__ import annotations

from typing import Literal, Protocol

# How one delivery of one target and slot ended in this process:
#   done       every part was posted
#   empty      nothing to post (no new stories, no quiet-day notice)
#   failed     Discord refused it for good (missing access, DMs closed...): the target is paused
#   postponed  Discord or the network failed for now; it is retried every half lease
#   error      something unforeseen (e.g. the database); it is retried like a postponed one
DeliveryOutcome = Literal["done", "empty", "failed", "postponed", "error"]
DELIVERY_OUTCOMES: tuple[DeliveryOutcome, ...] = ("done", "empty", "failed", "postponed", "error")
# How one poll of one feed ended (`PollReport.outcome`, with "not modified" spelt for a label).
FeedPollOutcome = Literal["new", "not_modified", "failed", "disabled"]
FEED_POLL_OUTCOMES: tuple[FeedPollOutcome, ...] = ("new", "not_modified", "failed", "disabled")
TARGET_KINDS = ("channel", "user", "webhook")


class Telemetry(Protocol):
    """Told of each event as it happens; must not block or raise (it runs on the event loop)."""

    def delivery_ended(self, kind: str, outcome: DeliveryOutcome) -> None:
        """A delivery attempt by this process ended (`kind`: channel, user or webhook)."""

    def part_sent(self, kind: str) -> None:
        """Discord accepted one message part of a digest."""

    def feed_polled(self, outcome: FeedPollOutcome, new_stories: int) -> None:
        """One feed was polled; `new_stories` were stored."""


class NoTelemetry:
    """Counts nothing: the CLI's and the tests' default."""

    def delivery_ended(self, kind: str, outcome: DeliveryOutcome) -> None:
        """Nothing to count."""

    def part_sent(self, kind: str) -> None:
        """Nothing to count."""

    def feed_polled(self, outcome: FeedPollOutcome, new_stories: int) -> None:
        """Nothing to count."""


NO_TELEMETRY = NoTelemetry()
