"""The fake answers the thread, crosspost and webhook routes as Discord documents them.

Every route Briefbot uses for forum posts, threads, crossposts and webhooks is called on the fake
over HTTP, success and refusal alike, and each request and answer is validated against the shapes of
Discord's OpenAPI description (`tests/e2e/discord_shapes.py`). With DISCORD_OPENAPI_SPEC set to the
spec's openapi.json, they are validated against the spec's own schemas as well.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.e2e.discord_shapes import check_exchanges, route_of
from tests.e2e.fake_discord import FakeDiscord, RecordedRequest

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
                            json={"content": "part two", "allowed_mentions": mentions, "username": "Morning Desk"})
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
    assert checked == 13 and statuses == [200, 201, 400, 429]


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


@pytest.mark.skipif(not os.environ.get("DISCORD_OPENAPI_SPEC"), reason="DISCORD_OPENAPI_SPEC (Discord's "
                    "openapi.json, from github.com/discord/discord-api-spec) is not set")
def test_every_exchange_fits_the_specs_own_schemas(exchanges):
    spec = json.loads(Path(os.environ["DISCORD_OPENAPI_SPEC"]).read_text(encoding="utf-8"))
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
            if schema is None:
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
