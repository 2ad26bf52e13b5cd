"""GcTuning: start-up objects frozen out of the collector's scans during a crawl, undone after."""

from __future__ import annotations

import gc

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from newscrawl import settings as project_settings
from newscrawl.extensions.gctuning import DEFAULT_THRESHOLD, GcTuning


def test_a_crawl_freezes_start_up_objects_and_collects_less_often_by_default() -> None:
    before = gc.get_threshold()
    tuning = build_from_crawler(GcTuning, get_crawler())
    try:
        tuning.engine_started()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (DEFAULT_THRESHOLD, *before[1:])
    finally:
        tuning.engine_stopped()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_zero_keeps_pythons_threshold() -> None:
    before = gc.get_threshold()
    tuning = build_from_crawler(GcTuning, get_crawler(settings_dict={"GC_TUNING_THRESHOLD": 0}))
    try:
        tuning.engine_started()
        assert gc.get_threshold() == before
    finally:
        tuning.engine_stopped()


def test_a_threshold_set_collects_less_often_during_the_crawl_then_is_undone() -> None:
    before = gc.get_threshold()
    tuning = build_from_crawler(GcTuning, get_crawler(settings_dict={"GC_TUNING_THRESHOLD": 25_000}))
    try:
        tuning.engine_started()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (25_000, *before[1:])
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1  # cycles made during the crawl are still collected
    finally:
        tuning.engine_stopped()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_it_can_be_switched_off_and_is_on_in_the_project_settings() -> None:
    with pytest.raises(NotConfigured):
        build_from_crawler(GcTuning, get_crawler(settings_dict={"GC_TUNING_ENABLED": False}))
    assert f"{GcTuning.__module__}.GcTuning" in project_settings.EXTENSIONS
