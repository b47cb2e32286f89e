"""The shared resources built once at start-up from the settings and passed to whoever needs them."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from digests.rendering import Renderer
from digests.settings import Settings
from digests.store import open_store
from digests.timeutil import parse_timezone
from digests.topics import Taxonomy, load_taxonomy, user_cache_dir


@dataclass
class Services:
    """Settings, taxonomy, renderer and the store's engine (opened, with migrations applied, on first use)."""

    settings: Settings
    taxonomy: Taxonomy
    renderer: Renderer
    _engine: sa.Engine | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """Load the taxonomy and templates the settings name; the store opens lazily."""
        taxonomy = load_taxonomy(settings.topics_file, tagger=settings.topic_tagger)
        return cls(settings, taxonomy, Renderer(settings.templates_dir, cache_dir=user_cache_dir() / "templates"))

    @property
    def engine(self) -> sa.Engine:
        """The store, migrated to the latest schema the first time it is asked for."""
        if self._engine is None:
            self._engine = open_store(self.settings.database_url, self.taxonomy)
        return self._engine

    @property
    def default_timezone(self):
        """The zone used where a guild or user chose none."""
        return parse_timezone(self.settings.default_timezone)

    def close(self) -> None:
        """Release the store's connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
