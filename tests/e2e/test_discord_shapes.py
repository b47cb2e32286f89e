"""The fake answers the message, thread, crosspost and webhook routes as Discord documents them.

Every route Briefbot uses for messages with embeds, forum posts, threads, crossposts and webhooks is called on the fake
over HTTP, success and refusal alike, and each request and answer is validated against the shapes of
Discord's OpenAPI description (`tests/e2e/discord_shapes.py`), and against the spec's own schemas:
`tests/e2e/data/discord-openapi.json.gz` is specs/openapi.json of github.com/discord/discord-api-spec
at commit 74fda0f (MIT licence, `data/discord-api-spec.LICENSE`); DISCORD_OPENAPI_SPEC may name a newer
openapi.json to check against instead.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.e2e.discord_shapes import check_exchanges, refused_as_invalid_form, route_of
from tests.e2e.fake_discord import FakeDiscord, RecordedRequest

# A rich digest's top story as Briefbot sends it (bot.embeds: discord.py's Embed.to_dict()).
EMBED = {"type": "rich", "title": "Storm nears coast", "url": "https://news.example/storm",
         "description": "Winds of 150 km/h.", "timestamp": "2026-11-30T06:15:00+00:00",
         "author": {"name": "Wire"}, "footer": {"text": "⭐ Top story"},
         "image": {"url": "https://img.example/storm.jpg"}}

SPEC_URI = "https://discord.test/openapi.json"


@pytest.fixture(scope="module")
def exchanges() -> Iterator[list[RecordedRequest]]:
    """Every route called once or more, as the bot calls it, with Discord's refusals among the answers."""
    with FakeDiscord() as fake:
        guild = fake.add_guild(name="Shapes", channels=[
            "text", {"name": "news", "type": 5}, {"name": "forum", "type": 15, "tags": ["Daily"], "require_tag": True}])
        text, news, forum = guild.channel("text"), guild.channel("news"), guild.channel("forum")
        hook = fake.add_webhook(forum).replace("https://discord.com/api", fake.api_base)
        tag = str(fake.tag_id(forum, "Daily"))
        mentions = {"parse": []}
        with httpx.Client(base_url=fake.api_base, headers={"Authorization": "Bot x.y.z"}) as api:
            post = {"name": "📰 Briefing · Monday 30 November 2026", "auto_archive_duration": 1440,
                    "applied_tags": [tag], "message": {"content": "part one", "allowed_mentions": mentions}}
            assert api.post(f"/channels/{forum}/threads", json=post).status_code == 201
            assert api.post(f"/channels/{forum}/threads", json={**post, "applied_tags": []}).status_code == 400
            first = api.post(f"/channels/{text}/messages", json={"content": "part one"}).json()
            rich = {"content": "## 📰 Daily briefing", "embeds": [EMBED], "allowed_mentions": mentions,
                    "nonce": "bb1p0", "enforce_nonce": True}
            assert api.post(f"/channels/{text}/messages", json=rich).status_code == 200
            over = {**rich, "nonce": "bb1p1", "embeds": [{**EMBED, "description": "x" * 4097}]}
            assert api.post(f"/channels/{text}/messages", json=over).status_code == 400
            assert api.post(f"/channels/{forum}/threads", json={**post, "message": {
                **post["message"], "embeds": [EMBED]}}).status_code == 201
            opened = {"name": "📰 Briefing · Monday 30 November 2026", "auto_archive_duration": 1440}
            assert api.post(f"/channels/{text}/messages/{first['id']}/threads", json=opened).status_code == 201
            assert api.post(f"/channels/{text}/messages/{first['id']}/threads", json=opened).status_code == 400
            announced = api.post(f"/channels/{news}/messages", json={"content": "part one"}).json()
            assert api.post(f"/channels/{news}/messages/{announced['id']}/crosspost").status_code == 200
            assert api.post(f"/channels/{news}/messages/{announced['id']}/crosspost").status_code == 400
            fake.crossposts_per_hour = 1
            again = api.post(f"/channels/{news}/messages", json={"content": "part two"}).json()
            assert api.post(f"/channels/{news}/messages/{again['id']}/crosspost").status_code == 429
            started = api.post(hook, params={"wait": "true"}, json={
                "content": "part one", "allowed_mentions": mentions, "username": "Morning Desk",
                "avatar_url": "https://example.com/desk.png", "thread_name": "Wire digest", "applied_tags": [tag]})
            assert started.status_code == 200
            into = api.post(hook, params={"wait": "true", "thread_id": started.json()["channel_id"]},
                            json={"content": "part two", "allowed_mentions": mentions, "username": "Morning Desk",
                                  "embeds": [EMBED]})
            assert into.status_code == 200
            assert api.post(hook, params={"wait": "true"}, json={"content": "x"}).status_code == 400
            assert api.post(hook, params={"wait": "true"}, json={"content": "x", "thread_name": "y",
                                                                  "username": "discord"}).status_code == 400
            fake.archive_thread(int(started.json()["channel_id"]))
            assert api.get(f"/guilds/{guild.id}/threads/active").status_code == 200
            assert api.get(f"/channels/{forum}/threads/archived/public", params={"limit": 50}).status_code == 200
        yield list(fake.requests)


def test_every_exchange_has_discords_documented_shape(exchanges):
    checked = check_exchanges(exchanges)
    statuses = sorted({r.status for r in exchanges if route_of(r.method, r.path)})
    print(f"\nchecked {checked} exchanges against the documented shapes; statuses {statuses}")
    assert checked == 19 and statuses == [200, 201, 400, 429]


def test_the_shape_check_catches_what_discord_would_not_send(exchanges):
    """The check is not vacuous: a thread without `owner_id`, a crosspost answer without `author` fail it."""
    post = next(r for r in exchanges if r.path.endswith("/threads") and r.status == 201 and r.method == "POST")
    broken = RecordedRequest(**{**post.__dict__, "response_json": {k: v for k, v in post.response_json.items()
                                                                   if k != "owner_id"}})
    with pytest.raises(AssertionError, match="owner_id"):
        check_exchanges([broken])
    hook = next(r for r in exchanges if r.path.startswith("/webhooks/") and r.status == 200)
    too_long = RecordedRequest(**{**hook.__dict__, "json": {**hook.json, "username": "x" * 81}})
    with pytest.raises(AssertionError, match="username"):
        check_exchanges([too_long])


def discord_spec() -> dict:
    """Discord's OpenAPI description: DISCORD_OPENAPI_SPEC's file, else the copy kept with the tests."""
    if os.environ.get("DISCORD_OPENAPI_SPEC"):
        return json.loads(Path(os.environ["DISCORD_OPENAPI_SPEC"]).read_text(encoding="utf-8"))
    return json.loads(gzip.decompress((Path(__file__).parent / "data" / "discord-openapi.json.gz").read_bytes()))


def test_every_exchange_fits_the_specs_own_schemas(exchanges):
    spec = discord_spec()
    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012))
    operations = {op["operationId"]: op for item in spec["paths"].values() for op in item.values()
                  if isinstance(op, dict) and "operationId" in op}
    found, checked = [], 0
    for record in exchanges:
        shapes = route_of(record.method, record.path)
        if shapes is None:
            continue
        operation = operations[shapes[3]]
        request = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        answer = operation["responses"].get(str(record.status)) or operation["responses"]["4XX"]
        response = _resolve(spec, answer)["content"]["application/json"]["schema"]
        answered = record.response_json
        if isinstance(answered, dict) and "errors" in answered:
            # Discord's reference shows string codes in a 50035's field errors (BASE_TYPE_REQUIRED…), which
            # the spec types as integers: the field errors are checked against discord_shapes.ERROR only.
            answered = {k: v for k, v in answered.items() if k != "errors"}
        for what, schema, payload in (("request", request, record.json), ("response", response, answered)):
            if schema is None or (what == "request" and refused_as_invalid_form(record)):
                continue
            absolute = json.loads(json.dumps(schema).replace('"$ref": "#/', f'"$ref": "{SPEC_URI}#/'))
            validator = Draft202012Validator(absolute, registry=registry)
            found += [f"{shapes[3]} {record.status} {what} {'/'.join(map(str, e.absolute_path))}: {e.message}"
                      for e in validator.iter_errors(payload)]
            checked += 1
    print(f"\nvalidated {checked} payloads against the spec's own schemas")
    assert checked >= 20 and not found, "\n".join(found)


def _resolve(spec: dict, node: dict) -> dict:
    """`node` with its `$ref` (to a response of the spec's components) followed."""
    while "$ref" in node:
        target = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _over(**changes) -> list[dict]:
    return [{**EMBED, **changes}]


@pytest.mark.parametrize(("embeds", "path", "code"), [
    (_over(title="t" * 257), ["embeds", "0", "title"], "BASE_TYPE_MAX_LENGTH"),
    (_over(description="d" * 4097), ["embeds", "0", "description"], "BASE_TYPE_MAX_LENGTH"),
    (_over(footer={"text": "f" * 2049}), ["embeds", "0", "footer", "text"], "BASE_TYPE_MAX_LENGTH"),
    (_over(author={"name": "a" * 257}), ["embeds", "0", "author", "name"], "BASE_TYPE_MAX_LENGTH"),
    (_over(url="https://news.example/" + "u" * 2048), ["embeds", "0", "url"], "BASE_TYPE_MAX_LENGTH"),
    (_over(image={"url": "javascript:alert(1)"}), ["embeds", "0", "image", "url"], "URL_TYPE_INVALID_SCHEME"),
    (_over(image={"url": "https://img.example/a b.jpg"}), ["embeds", "0", "image", "url"], "URL_TYPE_INVALID_URL"),
    (_over(timestamp="yesterday"), ["embeds", "0", "timestamp"], "DATE_TYPE_PARSE"),
    ([EMBED] * 11, ["embeds"], "BASE_TYPE_MAX_LENGTH"),
    (_over(title="t" * 256, description="d" * 4096, footer={"text": "f" * 1500}, author={"name": "a" * 200}),
     ["embeds"], "MESSAGE_EMBED_TOTAL_SIZE"),
])
def test_the_fake_refuses_an_over_limit_embed_with_discords_invalid_form_body(embeds, path, code):
    with FakeDiscord() as fake:
        guild = fake.add_guild(name="Limits", channels=["text", {"name": "forum", "type": 15}])
        text, forum = guild.channel("text"), guild.channel("forum")
        hook = fake.add_webhook(text).replace("https://discord.com/api", fake.api_base)
        message = {"content": "## 📰 Daily briefing", "embeds": embeds}
        with httpx.Client(base_url=fake.api_base, headers={"Authorization": "Bot x.y.z"}) as api:
            answers = [api.post(f"/channels/{text}/messages", json=message),
                       api.post(f"/channels/{forum}/threads", json={"name": "Briefing", "message": message}),
                       api.post(hook, params={"wait": "true"}, json=message)]
        for answer in answers:
            body = answer.json()
            assert (answer.status_code, body["code"], body["message"]) == (400, 50035, "Invalid Form Body")
            node = body["errors"]
            for key in path:
                node = node[key]
            assert [error["code"] for error in node["_errors"]] == [code]
        assert fake.channel_messages(text) == [] and fake.threads(forum) == []
        check_exchanges(list(fake.requests))  # Discord's error shape, and no request shape checked on a 50035
