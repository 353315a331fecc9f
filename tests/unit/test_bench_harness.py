"""The benchmark harness's arithmetic: alternation, medians and goal verdicts (bench/harness.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import pytest  # noqa: E402
from harness import Fixed, Goal, Section, Series, rotations  # noqa: E402
from s8_migration import longest_gap  # noqa: E402


def test_rotations_alternate_and_shift_the_first() -> None:
    order = list(rotations(["a", "b", "c"], 3))
    assert order == [(0, "a"), (0, "b"), (0, "c"), (1, "b"), (1, "c"), (1, "a"), (2, "c"), (2, "a"), (2, "b")]


def test_goals_faster_within_and_absolute() -> None:
    rows = {"ours": Series("ours", [1.0, 2.0, 9.0]), "theirs": Series("theirs", [6.0, 7.0, 8.0])}
    assert Goal("3x", "ours", "theirs", 3).check(rows) == ("3.50× faster", "met")
    assert Goal("4x", "ours", "theirs", 4).check(rows) == ("3.50× faster", "missed by 1.14×")
    assert Goal("within", "theirs", "ours", 2, within=True).check(rows) == ("3.50×", "missed by 1.75×")
    assert Goal("under 2.5 s", "ours", "", 2.5).check(rows) == ("2.000 s", "met")
    assert Goal("absent", "ours", "nobody", 2).check(rows) == ("n/a", "not measured")


def test_section_table_shows_median_range_and_runs() -> None:
    section = Section("T", "what")
    section.series("x").times.extend([0.5, 0.25, 12.0])
    text = section.markdown()
    assert "| x | 0.500 (0.250–12.0) | 3 |" in text and text.startswith("### T\n\nwhat\n")


def test_a_reported_ratio_has_no_verdict() -> None:
    rows = {"remote": Series("remote", [3.0]), "local": Series("local", [1.0])}
    assert Goal("remote against local", "remote", "local", 0, reported=True).check(rows) == (
        "3.00×",
        "reported (no goal)",
    )


def test_an_absolute_figure_can_be_reported_without_a_goal() -> None:
    rows = {"ours": Series("ours", [2.0, 3.0, 4.0])}
    assert Goal("seconds", "ours", "", 0, reported=True).check(rows) == ("3.000 s", "reported (no goal)")


def test_a_fixed_verdict_is_shown_as_the_scenario_decided() -> None:
    section = Section("T", "what")
    section.goals = [Fixed("busy guest converges", "precopy 0/5, post-copy 5/5", "met")]
    assert "| busy guest converges | precopy 0/5, post-copy 5/5 | met |" in section.markdown()


def test_the_longest_heartbeat_gap_spans_the_move_and_its_edges() -> None:
    beats = [0.0, 0.1, 0.2, 0.3, 1.5, 1.6, 1.7]
    assert longest_gap(beats, 0.25, 1.0) == pytest.approx(1.2)  # 0.3 -> 1.5: the pause, seen from its edges
    assert longest_gap(beats, 0.05, 0.25) == pytest.approx(0.1)
    assert longest_gap([], 0.0, 1.0) != longest_gap([], 0.0, 1.0)  # nan: no beat, no figure
