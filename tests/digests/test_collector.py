"""The collector pause around pool builds: off inside, back on after the last build, never turned on if it was off."""

from __future__ import annotations

import gc
import threading

from digests.collector import SERVICE_YOUNG_THRESHOLD, collector_paused, tune_for_service


def test_the_collector_is_off_inside_and_on_again_after():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_builds_keep_it_off_until_the_last_ends():
    first_inside, second_done = threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with collector_paused():
            first_inside.set()
            second_done.wait(5)
            seen.append(gc.isenabled())  # the other build has ended: still off, this one is under way

    worker = threading.Thread(target=first)
    worker.start()
    first_inside.wait(5)
    with collector_paused():
        pass
    second_done.set()
    worker.join(5)
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_turned_off_elsewhere_stays_off():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_error_in_a_build_turns_it_on_again():
    try:
        with collector_paused():
            raise ValueError("a failed build")
    except ValueError:
        pass
    assert gc.isenabled()


def test_the_service_collector_collects_the_young_generation_less_often_and_keeps_the_rest():
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 11, 12)
        tune_for_service()
        assert gc.get_threshold() == (SERVICE_YOUNG_THRESHOLD, 11, 12)
        assert SERVICE_YOUNG_THRESHOLD > 700
    finally:
        gc.set_threshold(*before)
