"""The errors the domain raises, so the CLI and the bot can turn them into clear messages.

    BriefbotError            anything the user can fix; its message is safe to show
    ├── ConfigError          a setting or a settings file is wrong (bad TOPICS_FILE, bad URL)
    ├── InputError           a value a user typed is invalid (time, timezone, topic, URL, length)
    │   └── Refusal          … with the reason worded by a reply of the templates (a cap, a duplicate)
    ├── SourceError          one ingest source failed (missing file, malformed feed, network)
    ├── NotFoundError        a named thing (topic, briefing, feed) does not exist
    └── DeliveryError        Discord did not take a message (permanent: pause the target)

Messages never contain secrets; callers pass user-facing text only.
"""


class BriefbotError(Exception):
    """Base of every error whose message is meant for the user."""


class ConfigError(BriefbotError):
    """A setting or a configuration file is invalid."""


class InputError(BriefbotError):
    """A value supplied by a user is invalid."""


class Refusal(InputError):
    """Input refused for a reason the templates word: `reply` names a macro of replies.md.j2, `details` are
    its arguments. Its text (the reply's name) is for logs: the bot shows the reply.

    `details` are plain values, never rows of the session: the refused command's rollback expires those
    before the reply is rendered."""

    def __init__(self, reply: str, **details: object) -> None:
        super().__init__(reply)
        self.reply = reply
        self.details = details


class SourceError(BriefbotError):
    """An ingest source could not be read or parsed."""


class NotFoundError(BriefbotError):
    """A named object does not exist."""


class DeliveryError(BriefbotError):
    """Discord refused or failed a message; `permanent` errors pause the target with `reason`."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
