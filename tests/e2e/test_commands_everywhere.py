"""Commands where users are (issue 14): personal commands in servers, in DMs with the bot and, as a user-installed
app, anywhere; manager commands in servers only; deferred answers edit the original response. The real bot
process against the fake Discord, whose command sync checks `contexts` / `integration_types` as Discord's OpenAPI
description types them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from digests.ingest.draft import StoryDraft
from digests.store import add_stories, open_store, session_scope
from digests.topics import load_taxonomy
from tests.e2e.conftest import MANAGE_GUILD, World

PERSONAL = ("stories", "topics", "subscribe", "unsubscribe", "subscriptions", "digest")
MANAGER = ("briefing", "feeds")
PRIVATE_TITLE = "Harbour council approves Vellmar tariff on imported steel"


@pytest.fixture(scope="module")
def private_story(world: World) -> str:
    """A story only the guild's own feed carried: it must show in that guild and nowhere else."""
    taxonomy = load_taxonomy()
    engine = open_store(world.database_url, taxonomy)
    with session_scope(engine) as session:
        add_stories(session=session, taxonomy=taxonomy, now=datetime.now(UTC), guild_id=world.guild.id,
                    drafts=[StoryDraft(title=PRIVATE_TITLE, source="Harbour Gazette", topics=("trade",))])
    engine.dispose()
    return PRIVATE_TITLE


def test_synced_commands_say_where_they_work_and_drop_the_deprecated_dm_permission(world: World):
    commands = {command["name"]: command for command in world.fake.commands()}
    for name in PERSONAL:
        assert commands[name]["contexts"] == [0, 1, 2], name
        assert commands[name]["integration_types"] == [0, 1], name
    for name in MANAGER:
        assert commands[name]["contexts"] == [0], name
        assert commands[name]["integration_types"] == [0], name
        assert str(commands[name]["default_member_permissions"]) == str(MANAGE_GUILD)
    synced = world.fake.requests_matching("PUT", r"^/applications/\d+/commands$")
    assert synced and all(request.status == 200 for request in synced)
    assert not any("dm_permission" in command for command in synced[-1].json)
    assert world.fake.deprecated_fields == []


def test_a_personal_command_in_the_bots_dm_shows_no_guild_private_story(world: World, private_story: str):
    in_guild = world.fake.invoke("stories", {"topic": "Vellmar"}, guild_id=world.guild.id, user_id=world.member)
    assert private_story in in_guild.content
    in_dm = world.fake.invoke("stories", {"topic": "Vellmar"}, user_id=world.member)
    assert in_dm.payload["context"] == 1 and "guild_id" not in in_dm.payload
    assert in_dm.ephemeral and in_dm.content and private_story not in in_dm.content
    assert "No stories" in in_dm.content or "no stories" in in_dm.content.lower()
    listed = world.fake.invoke("stories", {"topic": "trade", "limit": 10}, user_id=world.member)
    assert listed.ephemeral and private_story not in listed.content


def test_a_user_installed_app_works_in_group_dms_and_other_servers_without_the_guilds_stories(
        world: World, private_story: str):
    reader = world.fake.add_user(username="traveller")
    group_dm = world.fake.invoke("stories", {"topic": "Vellmar"}, user_id=reader, context=2)
    assert group_dm.payload["context"] == 2 and group_dm.payload["authorizing_integration_owners"] == {
        "1": str(reader)}
    assert group_dm.ephemeral and private_story not in group_dm.content
    subscribed = world.fake.invoke("subscribe", {"topic": "trade"}, user_id=reader, context=2)
    assert subscribed.ephemeral and "Added" in subscribed.content
    # The user's own install, used inside a server: that server's feeds are not the user's.
    user_installed = world.fake.invoke("stories", {"topic": "Vellmar"}, guild_id=world.guild.id, user_id=reader,
                                       user_install=True)
    assert user_installed.payload["authorizing_integration_owners"] == {"1": str(reader)}
    assert private_story not in user_installed.content
    status = world.fake.invoke("subscriptions", user_id=reader, context=2)
    assert "Trade" in status.content and "Next digest covers: the 24 h before it (its first)." in status.content


def test_manager_commands_are_offered_in_servers_only(world: World):
    with pytest.raises(ValueError, match="not available in context 1"):
        world.fake.invoke("briefing show", user_id=world.manager)
    with pytest.raises(ValueError, match="not available in context 2"):
        world.fake.invoke("feeds list", user_id=world.manager, context=2)
    with pytest.raises(ValueError, match="not installed"):
        world.fake.invoke("briefing show", guild_id=world.guild.id, user_id=world.manager, user_install=True,
                          permissions=MANAGE_GUILD)
    shown = world.fake.invoke("briefing show", guild_id=world.guild.id, user_id=world.manager,
                              permissions=MANAGE_GUILD)
    assert shown.ephemeral and shown.content


def test_a_deferred_answer_edits_the_original_response(world: World):
    reader = world.fake.add_user(username="previewer")
    world.fake.invoke("subscribe", {"topic": "immigration"}, user_id=reader)
    preview = world.fake.invoke("digest preview", user_id=reader)
    assert preview.deferred and preview.ephemeral
    assert preview.completed_by == "edit" and preview.edits
    edit = world.fake.requests_matching("PATCH", rf"^/webhooks/\d+/{preview.token}/messages/@original$")
    assert len(edit) == 1 and edit[0].status == 200
    assert "Your briefing" in preview.content and preview.allowed_mentions == {"parse": []}
    assert len(preview.followups) == len(preview.texts) - 1  # the other parts, if any, follow
