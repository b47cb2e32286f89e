"""`briefbot run` (bot/app.py): what the process sets up before it connects."""

from __future__ import annotations

import gc

from bot import app
from digests.collector import SERVICE_YOUNG_THRESHOLD
from digests.rendering import Renderer
from digests.services import Services
from digests.settings import Settings
from tests.test_cli import DOCTOR_TOKEN


def test_the_bot_runs_with_the_collector_set_for_a_long_running_process(monkeypatch, taxonomy, tmp_path):
    settings = Settings.from_mapping({"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
                                      "DISCORD_TOKEN": DOCTOR_TOKEN})
    services = Services(settings=settings, taxonomy=taxonomy, renderer=Renderer())
    seen = []

    async def serve(services, token):  # the connection to Discord: the edge of this test
        seen.append(gc.get_threshold()[0])
        return 0

    before = gc.get_threshold()
    monkeypatch.setattr(app, "_serve", serve)
    try:
        gc.set_threshold(700, *before[1:])
        assert app.run_bot(services) == 0
    finally:
        gc.set_threshold(*before)
        services.close()
    assert seen == [SERVICE_YOUNG_THRESHOLD]
