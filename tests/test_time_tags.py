"""The time filters pages use: a <time> element in the person's zone whose tooltip names the zone; the clock frozen."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def render(text: str, **context: object) -> str:
    return Template("{% load time_tags %}" + text).render(Context(context))


def test_moment_is_a_time_element_in_the_active_zone_with_the_zone_in_its_tooltip():
    when = datetime(2026, 3, 5, 13, 2, tzinfo=UTC)
    with timezone.override(ZoneInfo("Europe/Paris")):
        html = render("{{ when|moment }}", when=when)
    assert html == (
        '<time datetime="2026-03-05T13:02:00+00:00" title="2026-03-05 14:02 Europe/Paris (CET)">Mar 5, 14:02</time>'
    )


def test_dates_of_other_years_carry_the_year():
    with timezone.override(UTC):
        assert ">Mar 5, 2025, 13:02<" in render("{{ when|moment }}", when=datetime(2025, 3, 5, 13, 2, tzinfo=UTC))
        assert ">Mar 5, 2025<" in render("{{ when|moment_date }}", when=datetime(2025, 3, 5, 13, 2, tzinfo=UTC))
        assert ">Mar 5<" in render("{{ when|moment_date }}", when=datetime(2026, 3, 5, 13, 2, tzinfo=UTC))


def test_ago_says_just_now_and_nothing_for_a_missing_time():
    assert ">just now<" in render("{{ when|ago }}", when=NOW - timedelta(seconds=20))
    assert ">3\xa0minutes ago<" in render("{{ when|ago }}", when=NOW - timedelta(minutes=3))
    assert render("{{ when|ago }}{{ when|moment }}{{ when|moment_date }}", when=None) == ""


def test_the_zone_tags_name_the_active_zone_and_its_time_now():
    with timezone.override(ZoneInfo("America/Argentina/Buenos_Aires")):
        assert render("{% zone_name %}") == "America/Argentina/Buenos Aires"
        assert ">09:00<" in render("{% now_moment %}")
