"""Smoke tests of the fake Discord, driving the real discord.py client in ``minimal_client.py``."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import discord.gateway
import discord.http
import httpx
import pytest

from bot.endpoints import configure_endpoints
from tests.e2e.discord_shapes import check_exchanges
from tests.e2e.fake_discord import (
    MANAGE_GUILD,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    ClientProcess,
    FakeDiscord,
    FakeGuild,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Harness:
    """The fake, its guild and the running minimal client."""

    fake: FakeDiscord
    guild: FakeGuild
    client: ClientProcess


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    """One fake + minimal-client subprocess for the module (the client takes ~1 s to connect)."""
    with FakeDiscord() as fake:
        guild = fake.add_guild(
            name="Smoke",
            channels=[
                "general",
                "news",
                {
                    "name": "locked",
                    "permission_overwrites": [{"id": fake.bot_user_id, "type": 1, "deny": SEND_MESSAGES}],
                },
                {"name": "voice", "type": 2},
            ],
            roles=[{"name": "editors", "permissions": MANAGE_GUILD}],
            members=[{"id": fake.add_user(username="alice")}, {"id": fake.add_user(), "roles": ["editors"]}],
        )
        env = fake.env(token=secrets.token_urlsafe(24)) | {"MINIMAL_GUILD_ID": str(guild.id)}
        with ClientProcess(
            [sys.executable, "-m", "tests.e2e.minimal_client"], env=env, cwd=REPO_ROOT
        ) as client:
            fake.watch(client)
            fake.wait_until_ready(timeout=20)
            fake.wait_for_commands(timeout=20)
            fake.wait_for_commands(timeout=20, guild_id=guild.id)
            yield Harness(fake, guild, client)


@pytest.fixture(autouse=True)
def _reset_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    """Clear injected faults, delays and rate limits after each test that used the harness."""
    yield
    if "harness" in request.fixturenames:
        fake = request.getfixturevalue("harness").fake
        fake.clear_injections()
        fake.set_request_delay(0)
        fake.set_global_rate_limit(None)


def _options(cmd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in cmd.get("options", [])}


# ------------------------------------------------------------------ endpoints (in-process)


def test_configure_endpoints_patches_rest_base_and_gateway() -> None:
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        configure_endpoints(api_base=None, gateway_url=None)
        assert base == discord.http.Route.BASE
        assert gateway == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY

        configure_endpoints(api_base="http://127.0.0.1:9/api/v10/", gateway_url="ws://127.0.0.1:9/gateway")
        assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:9/api/v10/users/@me"
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:9/gateway"

        with pytest.raises(ValueError, match="ws"):
            configure_endpoints(api_base=None, gateway_url="http://127.0.0.1:9/gateway")
        with pytest.raises(ValueError, match="http"):
            configure_endpoints(api_base="127.0.0.1:9", gateway_url=None)
    finally:
        discord.http.Route.BASE = base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


# ------------------------------------------------------------------ REST shapes (no client)


def test_rest_errors_and_injected_rate_limit_have_discord_shape() -> None:
    async def fetch(fake: FakeDiscord) -> list[tuple[int, str, Any, Any]]:
        out = []
        async with aiohttp.ClientSession() as session:
            for path, auth in (
                ("/nope", "Bot x"),
                ("/users/@me", "Bot x"),
                ("/users/@me", "Bot x"),
                ("/users/@me", ""),
            ):
                async with session.get(fake.api_base + path, headers={"Authorization": auth}) as resp:
                    out.append(
                        (
                            resp.status,
                            resp.headers["Content-Type"],
                            resp.headers.get("Via"),
                            await resp.json(),
                        )
                    )
        return out

    with FakeDiscord() as fake:
        fake.inject("GET", r"^/users/@me$", 429, retry_after=0.25, times=1)
        missing, limited, ok, unauthorized = asyncio.run(fetch(fake))

    assert missing == (404, "application/json", None, {"message": "404: Not Found", "code": 0})
    assert unauthorized[0] == 401 and unauthorized[3]["code"] == 0
    assert limited[:3] == (429, "application/json", "1.1 google")
    # `code` 0 as well: Discord's OpenAPI description requires it in RatelimitedResponse.
    assert limited[3] == {"message": "You are being rate limited.", "retry_after": 0.25, "global": False, "code": 0}
    assert ok[0] == 200 and ok[3]["id"] == str(fake.bot_user_id) and ok[3]["bot"] is True
    assert fake.unknown_routes == ["GET /nope"]
    assert [r.status for r in fake.requests] == [404, 429, 200, 401]


def test_attachment_options_and_multipart_files_follow_discords_rules() -> None:
    """An ATTACHMENT option arrives resolved; files[n] need their attachments entry; an edit's list says what stays."""
    with FakeDiscord() as fake:
        guild = fake.add_guild(name="Files", channels=["general"])
        command = {"name": "upload", "description": "u", "options": [
            {"type": 11, "name": "file", "description": "f", "required": True}]}
        auth = {"Authorization": "Bot x.y.z"}
        with httpx.Client(base_url=fake.api_base, headers=auth) as api:
            assert api.put(f"/applications/{fake.application_id}/commands", json=[command]).status_code == 200
            interaction = fake._create_interaction(2, "upload", {"file": {
                "filename": "feeds.opml", "url": "https://cdn.example/feeds.opml", "size": 42}},
                None, None, guild.id, None, None, "en-US")
            [option] = interaction.payload["data"]["options"]
            attached = interaction.payload["data"]["resolved"]["attachments"][option["value"]]
            assert attached["filename"] == "feeds.opml" and attached["size"] == 42 and attached["ephemeral"]
            with pytest.raises(ValueError, match="at most"):
                fake._create_interaction(2, "upload", {"file": {"filename": "x", "url": "u", "size": 11 << 20}},
                                         None, None, guild.id, None, None, "en-US")

            def send(method: str, path: str, payload: dict, files: dict) -> httpx.Response:
                return api.request(method, path, data={"payload_json": json.dumps(payload)}, files=files)

            callback = f"/interactions/{interaction.id}/{interaction.token}/callback"
            assert api.post(callback, json={"type": 5, "data": {"flags": 64}}).status_code == 204
            original = f"/webhooks/{fake.application_id}/{interaction.token}/messages/@original"
            unlisted = send("PATCH", original, {"content": "x", "attachments": [{"id": 0, "filename": "a.txt"}]},
                            {"files[1]": ("b.txt", b"b")})
            assert unlisted.status_code == 400 and unlisted.json()["code"] == 50035
            edited = send("PATCH", original, {"content": "two files", "attachments": [
                {"id": 0, "filename": "report.txt"}, {"id": 1}]}, {"files[0]": ("a.txt", b"AAA"),
                                                                   "files[1]": ("b.bin", b"\x00B")})
            assert edited.status_code == 200
            first, second = edited.json()["attachments"]
            assert (first["filename"], first["size"], second["filename"]) == ("report.txt", 3, "b.bin")
            assert httpx.get(first["url"]).content == b"AAA" and httpx.get(second["url"]).content == b"\x00B"
            kept = api.patch(original, json={"attachments": [{"id": second["id"]}]}).json()["attachments"]
            assert [a["id"] for a in kept] == [second["id"]]
            assert api.patch(original, json={"content": "no change to files"}).json()["attachments"] == kept
            assert api.patch(original, json={"attachments": []}).json()["attachments"] == []
        check_exchanges(list(fake.requests))


def test_command_sync_checks_contexts_and_integration_types_as_discords_openapi_types_them() -> None:
    """ApplicationCommandUpdateRequest: `contexts` / `integration_types` are null or non-empty arrays of unique
    InteractionContextType (0-2) / ApplicationIntegrationType (0-1) values; `dm_permission` is boolean or null."""

    def command(**fields: Any) -> dict[str, Any]:
        return {"name": "ping", "description": "Ping", "type": 1, **fields}

    async def put(fake: FakeDiscord, body: list[dict[str, Any]], scope: str = "") -> tuple[int, Any]:
        url = f"{fake.api_base}/applications/{fake.application_id}{scope}/commands"
        async with aiohttp.ClientSession() as session, session.put(
                url, json=body, headers={"Authorization": "Bot x"}) as resp:
            return resp.status, await resp.json()

    with FakeDiscord() as fake:
        guild = fake.add_guild(name="G", channels=["general"])
        bad_fields = (({"contexts": [3]}, "contexts"), ({"contexts": []}, "contexts"), ({"contexts": "0"}, "contexts"),
                      ({"integration_types": [0, 0]}, "integration_types"),
                      ({"integration_types": [True]}, "integration_types"), ({"dm_permission": "no"}, "dm_permission"))
        for bad, key in bad_fields:
            status, body = asyncio.run(put(fake, [command(**bad)]))
            assert status == 400 and body["code"] == 50035 and key in body["errors"]["0"], bad
        assert fake.commands() == []
        status, body = asyncio.run(put(fake, [command(contexts=[0, 1, 2], integration_types=[0, 1])]))
        assert status == 200 and (body[0]["contexts"], body[0]["integration_types"]) == ([0, 1, 2], [0, 1])
        assert fake.deprecated_fields == []
        status, body = asyncio.run(put(fake, [command(dm_permission=False)]))
        assert status == 200 and fake.deprecated_fields == ["ping.dm_permission"]
        # Both are "only for globally-scoped commands": a guild's command is used in that guild only.
        status, body = asyncio.run(put(fake, [command(contexts=[1], integration_types=[1])], f"/guilds/{guild.id}"))
        assert status == 200 and (body[0]["contexts"], body[0]["integration_types"]) == (None, [0])


# ------------------------------------------------------------------ gateway + command sync


def test_client_connects_with_zlib_stream_and_syncs_commands(harness: Harness) -> None:
    fake = harness.fake
    first = fake.gateway_connections[0]
    assert first.path == "/gateway" and first.compression == "zlib-stream"
    assert first.query == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
    assert first.identify is not None and "token" not in first.identify
    assert first.identify["intents"] == discord.Intents.default().value
    assert first.ops[:2] == [1, 2]  # heartbeat right after HELLO, then IDENTIFY
    cached = f"AVAILABLE {harness.guild.id} ['general', 'locked', 'news']"  # logged after GUILD_CREATE
    fake.wait_for(lambda: cached in harness.client.output(), 5, "on_guild_available")

    global_cmds = {c["name"]: c for c in fake.commands()}
    assert set(global_cmds) == {"echo", "count"}
    echo = _options(global_cmds["echo"])["text"]
    assert (echo["type"], echo["required"], echo["autocomplete"]) == (3, True, True)
    count = _options(global_cmds["count"])
    assert (count["n"]["type"], count["n"]["min_value"], count["n"]["max_value"]) == (4, 1, 5)
    assert count["loud"]["type"] == 5 and not count["loud"].get("required")
    assert all(
        c["application_id"] == str(fake.application_id) and c["id"].isdigit() for c in global_cmds.values()
    )

    (notify,) = fake.commands(harness.guild.id)
    assert notify["name"] == "notify" and notify["guild_id"] == str(harness.guild.id)
    subs = _options(notify)
    assert {n: s["type"] for n, s in subs.items()} == {"post": 1, "me": 1}
    post = _options(subs["post"])
    assert (post["channel"]["type"], post["channel"]["channel_types"]) == (7, [0, 5])  # text + news
    assert (post["text"]["type"], post["repeat"]["type"]) == (3, 4)


# ------------------------------------------------------------------ interactions


def test_ephemeral_reply_in_guild(harness: Harness) -> None:
    res = harness.fake.invoke("echo", {"text": "hello"}, guild_id=harness.guild.id)
    assert (res.type, res.content, res.ephemeral) == (4, "echo: hello", True)
    assert res.payload["member"]["user"]["id"] == str(harness.guild.owner_id)
    assert res.payload["data"]["options"] == [{"name": "text", "type": 3, "value": "hello"}]
    assert res.errors == [] and res.followups == []


def test_autocomplete_returns_choices(harness: Harness) -> None:
    choices = harness.fake.autocomplete("echo", {"text": "ta"}, focused="text", guild_id=harness.guild.id)
    assert choices == [{"name": "Beta", "value": "beta"}, {"name": "Delta", "value": "delta"}]


def test_public_reply_with_integer_and_boolean_options(harness: Harness) -> None:
    editor = next(
        m for m in harness.guild.member_ids if m not in (harness.guild.owner_id, harness.fake.bot_user_id)
    )
    res = harness.fake.invoke("count", {"n": 3, "loud": True}, guild_id=harness.guild.id, user_id=editor)
    assert (res.content, res.ephemeral) == ("1 2 3!", False)
    assert int(res.payload["member"]["permissions"]) & MANAGE_GUILD


def test_invalid_invocations_fail_loudly(harness: Harness) -> None:
    fake, gid = harness.fake, harness.guild.id
    with pytest.raises(KeyError, match="no option"):
        fake.invoke("echo", {"txt": "typo"}, guild_id=gid)
    with pytest.raises(ValueError, match="requires"):
        fake.invoke("echo", {}, guild_id=gid)
    with pytest.raises(ValueError, match="min_value/max_value"):
        fake.invoke("count", {"n": 9}, guild_id=gid)
    with pytest.raises(TypeError):
        fake.invoke("count", {"n": "3"}, guild_id=gid)
    with pytest.raises(ValueError, match="group"):
        fake.invoke("notify", guild_id=gid)
    with pytest.raises(ValueError, match="channel_types"):
        fake.invoke("notify post", {"channel": "voice", "text": "x"}, guild_id=gid)
    with pytest.raises(KeyError, match="not synced"):
        fake.invoke("notify post", {"channel": "news", "text": "x"})  # guild command, DM context


def test_defer_followup_channel_option_allowed_mentions_and_nonce_dedup(harness: Harness) -> None:
    fake, news = harness.fake, harness.guild.channel("news")
    before = len(fake.requests_matching("POST", rf"^/channels/{news}/messages$"))
    res = fake.invoke(
        "notify post", {"channel": "news", "text": "@everyone hi", "repeat": 2}, guild_id=harness.guild.id
    )
    assert res.deferred and res.ephemeral
    assert res.callbacks == [{"type": 5, "data": {"flags": 64}}]
    resolved = res.payload["data"]["resolved"]["channels"][str(news)]
    assert (resolved["name"], resolved["type"], resolved["guild_id"]) == ("news", 0, str(harness.guild.id))

    (message,) = [m for m in fake.channel_messages(news) if m["content"] == "@everyone hi"]
    assert message["allowed_mentions"] == {"parse": []}
    assert message["enforce_nonce"] is True and message["nonce"] == f"p{res.interaction_id}"
    # Two sends with the same nonce: Discord returns the first message for the second.
    assert res.content == f"posted {message['id']} {message['id']} to #news"
    assert [e["content"] for e in res.edits] == [res.content] and res.followups == []
    assert res.original is not None and res.original["flags"] == 64  # loading flag cleared
    assert len(fake.requests_matching("POST", rf"^/channels/{news}/messages$")) == before + 2


def test_guild_added_after_ready_is_usable(harness: Harness) -> None:
    fake = harness.fake
    late = fake.add_guild(name="Late", channels=["updates"])
    # on_guild_join, or on_guild_available while discord.py still collects guilds after READY (2 s).
    cached = f" {late.id} ['updates']"
    fake.wait_for(lambda: cached in harness.client.output(), 5, "the client to cache the new guild")
    res = fake.invoke("echo", {"text": "new guild"}, guild_id=late.id)
    assert res.content == "echo: new guild"
    assert res.payload["guild_id"] == str(late.id) and res.payload["channel_id"] == str(
        late.channel("updates")
    )
    with pytest.raises(KeyError, match="not synced"):
        fake.invoke("notify me", guild_id=late.id)  # guild command synced to the first guild only


def test_dm_context_interaction(harness: Harness) -> None:
    user = harness.fake.add_user(username="dmtester")
    res = harness.fake.invoke("echo", {"text": "psst"}, user_id=user)
    assert (res.content, res.ephemeral) == ("echo: psst", True)
    assert "member" not in res.payload and "guild_id" not in res.payload
    assert res.payload["user"]["id"] == str(user) and res.payload["channel"]["type"] == 1
    assert res.payload["context"] == 1


def test_direct_messages_reuse_the_dm_channel(harness: Harness) -> None:
    fake, gid = harness.fake, harness.guild.id
    user = next(m for m in harness.guild.member_ids if m not in (harness.guild.owner_id, fake.bot_user_id))
    for _ in range(2):
        assert fake.invoke("notify me", guild_id=gid, user_id=user).content == "check your DMs"
    assert [m["content"] for m in fake.dm_messages(user)] == ["hello from the bot"] * 2
    opened = fake.requests_matching("POST", r"^/users/@me/channels$")
    assert any(r.json == {"recipient_id": user} for r in opened)
    assert all(m["channel_id"] == fake.dm_channel_id(user) for m in fake.dm_messages(user))

    fake.set_dms_closed(user)
    try:
        assert fake.invoke("notify me", guild_id=gid, user_id=user).content == "cannot DM you (50007)"
    finally:
        fake.set_dms_closed(user, closed=False)


def test_missing_channel_permission_is_a_real_403(harness: Harness) -> None:
    locked = harness.guild.channel("locked")
    res = harness.fake.invoke(
        "notify post", {"channel": "locked", "text": "x"}, guild_id=harness.guild.id, channel_id=locked
    )
    assert res.content == "failed: 403 50013"
    assert harness.fake.channel_messages(locked) == []
    app_permissions = int(res.payload["app_permissions"])
    assert app_permissions & VIEW_CHANNEL and not app_permissions & SEND_MESSAGES


# ------------------------------------------------------------------ faults


def test_injected_429_is_retried_after_retry_after(harness: Harness) -> None:
    fake, news = harness.fake, harness.guild.channel("news")
    injection = fake.inject("POST", rf"^/channels/{news}/messages$", 429, retry_after=0.3)
    res = fake.invoke("notify post", {"channel": news, "text": "retry me"}, guild_id=harness.guild.id)
    assert res.content.startswith("posted ") and injection.hits == 1
    first, second = [r for r in fake.requests_matching("POST", rf"^/channels/{news}/messages$")][-2:]
    assert (first.status, second.status) == (429, 200) and first.injected
    assert second.time - first.time >= 0.3
    assert [m["content"] for m in fake.channel_messages(news)].count("retry me") == 1


def test_injected_403_reaches_the_client(harness: Harness) -> None:
    fake = harness.fake
    fake.inject("POST", r"^/channels/\d+/messages$", 403, code=50001)
    res = fake.invoke("notify post", {"channel": "news", "text": "x"}, guild_id=harness.guild.id)
    assert res.content == "failed: 403 50001"
    assert res.texts == [res.content]  # after a defer the first followup *is* the original
    assert res.ephemeral and len(res.followups) == 1


def test_enforced_global_rate_limit(harness: Harness) -> None:
    fake, news = harness.fake, harness.guild.channel("news")
    fake.set_global_rate_limit(1)
    res = fake.invoke(
        "notify post", {"channel": news, "text": "slow", "repeat": 3}, guild_id=harness.guild.id
    )
    posts = [
        r
        for r in fake.requests_matching("POST", rf"^/channels/{news}/messages$")
        if r.json["content"] == "slow"
    ]
    limited = [r for r in posts if r.status == 429]
    assert limited and all(r.injected for r in limited)
    accepted = [r.time for r in posts if r.status == 200]
    assert len(accepted) == 3 and accepted[-1] - accepted[0] >= 1.0
    assert res.content.startswith("posted ")


def test_interaction_callback_after_deadline_is_unknown_interaction(harness: Harness) -> None:
    fake = harness.fake
    fake.set_request_delay(0.5, method="POST", path_regex=r"^/interactions/")
    fake.interaction_deadline = 0.2
    try:
        res = fake.invoke("echo", {"text": "late"}, guild_id=harness.guild.id)
    finally:
        fake.interaction_deadline = 3.0
    assert res.type is None and res.content is None
    assert [(e["status"], e["body"]["code"]) for e in res.errors] == [(404, 10062)]


# ------------------------------------------------------------------ reconnect


def test_resume_after_disconnect_uses_resume_gateway_url(harness: Harness) -> None:
    fake = harness.fake
    connections = len(fake.gateway_connections)
    fake.disconnect(code=4000)
    fake.wait_for(lambda: len(fake.gateway_connections) > connections, 10, "a reconnect")
    fake.wait_until_ready(timeout=10)
    latest = fake.gateway_connections[-1]
    assert latest.path == "/gateway-resume" and latest.resumed and 6 in latest.ops and 2 not in latest.ops
    assert fake.invoke("echo", {"text": "back"}, guild_id=harness.guild.id).content == "echo: back"
