"""Parsing untrusted JSON text: orjson for speed, the standard library for what orjson refuses.

orjson parses a line in about a third of `json.loads`'s time, but refuses `NaN` and `Infinity`
(which Python's own `json.dumps` writes) and lone surrogate escapes. Such documents are read again
with `json.loads`; a lone surrogate then reaches no store, as `StoryDraft.clean` drops it.
"""

from __future__ import annotations

import json

import orjson

# What `load_json` raises for text that is not JSON at all.
JSON_ERRORS = (json.JSONDecodeError, RecursionError)


def load_json(text: str) -> object:
    """The JSON value of `text`; one of JSON_ERRORS when it is not JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def json_error_message(error: json.JSONDecodeError | RecursionError) -> str:
    """What went wrong, without the document's text."""
    return getattr(error, "msg", "too deeply nested")
