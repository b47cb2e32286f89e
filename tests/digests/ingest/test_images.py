"""Article pictures read from feeds: every place a feed format carries one, and hostile values dropped.

A bad picture is passed over (the next candidate is tried) and never fails its story.
"""

from __future__ import annotations

import json

import pytest

from digests.ingest.draft import StoryDraft, clean_image_url
from digests.ingest.feeds import parse_feed
from digests.ingest.jsonl import parse_json_lines

MEDIA = 'xmlns:media="http://search.yahoo.com/mrss/"'


def rss(item: str) -> bytes:
    return (f'<?xml version="1.0"?><rss version="2.0" {MEDIA}><channel><title>Wire</title>'
            f"<link>https://wire.example/</link><item><title>Storm nears coast</title>"
            f"<link>https://wire.example/storm</link>{item}</item></channel></rss>").encode()


def image_of(document: bytes, location: str = "https://wire.example/feed.xml") -> str | None:
    drafts, skipped = parse_feed(document, location=location)
    assert skipped == [] and len(drafts) == 1 and drafts[0].title == "Storm nears coast"
    return drafts[0].clean().image_url


@pytest.mark.parametrize(("item", "expected"), [
    ('<media:content url="https://img.example/a.jpg" medium="image" width="800"/>', "https://img.example/a.jpg"),
    ('<media:content url="https://img.example/b.png" type="image/png"/>', "https://img.example/b.png"),
    ('<media:thumbnail url="https://img.example/thumb.jpg"/>', "https://img.example/thumb.jpg"),
    ('<enclosure url="https://img.example/c.jpg" type="image/jpeg" length="1000"/>', "https://img.example/c.jpg"),
    # A video or a podcast is not a picture; a media:content that says neither medium nor type may be a video.
    ('<media:content url="https://v.example/a.mp4" medium="video"/>', None),
    ('<enclosure url="https://pod.example/e.mp3" type="audio/mpeg" length="1"/>', None),
    ('<media:content url="https://img.example/what"/>', None),
    ("", None),
])
def test_rss_pictures_come_from_media_content_enclosures_and_thumbnails(item, expected):
    assert image_of(rss(item)) == expected


def test_an_image_media_content_is_preferred_to_a_thumbnail_and_relative_urls_are_made_absolute():
    item = ('<media:thumbnail url="https://img.example/small.jpg"/>'
            '<media:content url="/pictures/big.jpg" medium="image"/>')
    assert image_of(rss(item)) == "https://wire.example/pictures/big.jpg"


def test_atom_image_enclosure_links_are_read():
    atom = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atom News</title>'
            b'<entry><title>Storm nears coast</title><link href="https://atom.example/storm"/>'
            b'<link rel="enclosure" type="image/webp" href="https://img.example/storm.webp"/>'
            b"<updated>2026-11-27T08:30:00Z</updated></entry></feed>")
    assert image_of(atom) == "https://img.example/storm.webp"


@pytest.mark.parametrize("hostile", [
    "javascript:alert(1)",
    "data:image/png;base64,AAAA",
    "file:///etc/passwd",
    "ftp://img.example/a.jpg",
    "https://user:secret@img.example/a.jpg",
    "https://img.example/a b.jpg",
    "http://[::1/broken.jpg",
    "https://img.example/" + "a" * 2_100 + ".jpg",
])
def test_a_hostile_picture_is_dropped_and_the_next_candidate_is_used(hostile):
    item = (f'<media:content url="{hostile.replace("&", "&amp;")}" medium="image"/>'
            '<media:thumbnail url="https://img.example/safe.jpg"/>')
    assert image_of(rss(item)) == "https://img.example/safe.jpg"
    assert clean_image_url(hostile) is None


@pytest.mark.parametrize("hostile", [
    "https://img.example/a.jpg?x=\u0000", "https://img.example/a\u202e.jpg", "https://img.example/\ud800.jpg",
    "https:///no-host.jpg", "//img.example/relative.jpg", "https://img.example/a\n.jpg", "", None,
])
def test_clean_image_url_refuses_controls_surrogates_and_urls_without_a_host(hostile):
    assert clean_image_url(hostile) is None


def test_a_hostile_picture_alone_leaves_the_story_without_one():
    assert image_of(rss('<media:content url="javascript:alert(1)" medium="image"/>')) is None


def test_non_ascii_picture_urls_are_percent_encoded_once():
    url = clean_image_url("https://img.example/café.jpg?size=ß")
    assert url == "https://img.example/caf%C3%A9.jpg?size=%C3%9F"
    assert clean_image_url(url) == url  # cleaning again (StoryDraft.clean) changes nothing


def json_feed(item: dict) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "JSON Wire",
                       "home_page_url": "https://json.example/",
                       "items": [{"id": "1", "title": "Storm nears coast", "url": "https://json.example/s", **item}]
                       }).encode()


@pytest.mark.parametrize(("item", "expected"), [
    ({"image": "https://img.example/main.jpg", "banner_image": "https://img.example/banner.jpg"},
     "https://img.example/main.jpg"),
    ({"banner_image": "https://img.example/banner.jpg"}, "https://img.example/banner.jpg"),
    ({"image": "/img/rel.jpg"}, "https://json.example/img/rel.jpg"),
    ({"image": "javascript:alert(1)", "banner_image": "https://img.example/banner.jpg"},
     "https://img.example/banner.jpg"),
    ({"image": 42}, None),
    ({"image": ["https://img.example/list.jpg"]}, None),
    ({}, None),
])
def test_json_feed_pictures_are_image_then_banner_image(item, expected):
    assert image_of(json_feed(item)) == expected


@pytest.mark.parametrize(("image", "expected"), [
    ("https://img.example/line.jpg", "https://img.example/line.jpg"),
    ("javascript:alert(1)", None),
    ("https://a:b@img.example/x.jpg", None),
    (17, None),
    ({"url": "https://img.example/x.jpg"}, None),
    (None, None),
])
def test_json_lines_image_is_optional_and_a_bad_one_never_fails_the_line(image, expected):
    line = json.dumps({"title": "Storm nears coast", "url": "https://wire.example/storm", "image": image})
    drafts, errors = parse_json_lines(line, source="lines")
    assert errors == [] and [d.clean().image_url for d in drafts] == [expected]


def test_a_draft_keeps_its_picture_through_cleaning():
    draft = StoryDraft(title="Storm", source="Wire", image_url="  https://img.example/a.jpg  ")
    assert draft.clean().image_url == "https://img.example/a.jpg"
