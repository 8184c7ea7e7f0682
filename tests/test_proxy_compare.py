"""``proxy compare``, gate G3 of ``decide`` and preview's Subagent Proxy block, on windows made with the real CLI and
proxy events stored as the ingest stores them (tests/proxyseed.py); every figure against a computation here."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import stats as sst  # type: ignore[import-untyped,unused-ignore]

from gittracker.errors import BadInput
from gittracker.prices import DEFAULT_PRICES, FIELDS, price_for, prices_from
from gittracker.proxy.store import rollups
from gittracker.proxyevents import Event
from gittracker.records import Record
from tests.conftest import Sandbox
from tests.proxyseed import Req, closed_window, events_of, seed

# The test's own prices (USD per million tokens), written to .git-tracker.toml: not the defaults, so a report that
# ignored the configuration would be caught.
PRICES = {
    "glm": {"input": 0.5, "output": 2.0, "cache_write": 0.5, "cache_read": 0.1},
    "claude-haiku": {"input": 1.0, "output": 5.0, "cache_write": 1.25, "cache_read": 0.1},
}
HAIKU = "claude-haiku-4-5-20251001"
GLM = "glm-4.6"
FEATURES = ("F-1", "F-2", "F-3")


def write_prices(box: Sandbox) -> None:
    settings = box.path / ".git-tracker.toml"
    tables = "".join(
        f'\n[prices."{name}"]\n' + "".join(f"{key} = {value}\n" for key, value in price.items())
        for name, price in PRICES.items()
    )
    settings.write_text(settings.read_text() + tables)


def usd(event: Event) -> float:
    """The cost of one event at PRICES, by the longest name in the model (computed here, not by prices.py)."""
    name = max((n for n in PRICES if n in (event.model or "").lower()), key=len)
    price = PRICES[name]
    return (
        event.prompt_tokens * price["input"]
        + event.completion_tokens * price["output"]
        + event.cache_creation_tokens * price["cache_write"]
        + event.cache_read_tokens * price["cache_read"]
    ) / 1e6


def nearest_rank(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


# -- a POC where every criterion holds, and the one change that breaks each ---------------------------------------

GLM_REQ = Req("glm", GLM, prompt=2000, completion=300, cache_write=100, cache_read=1000, latency=600.0)
HAIKU_REQ = Req("haiku", HAIKU, prompt=2000, completion=300, cache_write=100, cache_read=1000, latency=500.0)
SMALL_HAIKU = Req("haiku", HAIKU, prompt=100, completion=10, latency=600.0)  # a sub-agent the router kept on Haiku


def poc(box: Sandbox, broken: int | None = None) -> dict[str, dict[str, Any]]:
    """Three matched features, each with one GLM-arm window (4 requests on glm and i small ones kept on Haiku) and
    one baseline window (5 on Haiku); ``broken`` changes the one thing that makes that criterion fail. Returns, per
    feature and arm, the events and the completion, for the test's own computations."""
    write_prices(box)
    glm_quality = {1: 0.5, 2: 0.45, 3: 0.55} if broken == 2 else {1: 0.85, 2: 0.85, 3: 0.85}
    made: dict[str, dict[str, Any]] = {}
    batches = []
    for number, feature in enumerate(FEATURES, start=1):
        glm_req = GLM_REQ
        if broken == 1:
            # x1.75-1.80 per feature: below 2, above what a looser threshold (1.5) would let through
            glm_req = Req("glm", GLM, prompt=2000, completion=700, cache_write=100, cache_read=1000, latency=600.0)
        if broken == 4:
            glm_req = Req("glm", GLM, prompt=2000, completion=300, cache_write=100, cache_read=1000, latency=700.0)
        requests = [glm_req] * 4 + [SMALL_HAIKU] * number
        if broken == 3:
            requests += [Req("glm", GLM, status=529, latency=600.0), Req("glm", GLM, cut_off=True, latency=600.0)]
        glm_events = events_of(requests, f"g{number}", minute=number)
        base_events = events_of([HAIKU_REQ] * 5, f"b{number}", minute=10 + number)
        outcome = "failed" if broken == 5 and feature == "F-2" else "shipped"
        glm_window = closed_window(box, feature, outcome, glm_quality[number])
        base_window = closed_window(box, feature, "shipped", 0.9)
        batches += [(glm_window, glm_events), (base_window, base_events)]
        made[feature] = {
            "glm": {"events": glm_events, "quality": glm_quality[number], "outcome": outcome},
            "baseline": {"events": base_events, "quality": 0.9, "outcome": "shipped"},
        }
    seed(box, batches)
    return made


def compared(box: Sandbox) -> dict[str, Any]:
    return dict(json.loads(box.ok("proxy", "compare", "--json")))


def g3(box: Sandbox) -> dict[str, Any]:
    return dict(json.loads(box.ok("decide", "--json"))["gates"]["G3"])


def test_per_feature_cost_ratios_and_figures_match_an_independent_computation(tracked: Sandbox) -> None:
    made = poc(tracked)
    result = compared(tracked)
    assert result["matched"] == 3 and [row["feature_id"] for row in result["features"]] == list(FEATURES)
    ratios = []
    for row in result["features"]:
        mine = made[row["feature_id"]]
        for arm in ("glm", "baseline"):
            events, got = mine[arm]["events"], row[arm]
            assert got["prompts"] == len(events)
            assert got["input_tokens"] == sum(e.prompt_tokens for e in events)
            assert got["output_tokens"] == sum(e.completion_tokens for e in events)
            assert got["cache_write_tokens"] == sum(e.cache_creation_tokens for e in events)
            assert got["cache_read_tokens"] == sum(e.cache_read_tokens for e in events)
            assert math.isclose(got["cost_usd"], sum(usd(e) for e in events), rel_tol=1e-12)
            assert got["latency_p95_ms"] == nearest_rank([e.latency_ms for e in events], 0.95)
            assert got["error_rate"] == 0 and got["quality"] == mine[arm]["quality"]
        expected = sum(usd(e) for e in mine["baseline"]["events"]) / sum(usd(e) for e in mine["glm"]["events"])
        assert math.isclose(row["cost_ratio"], expected, rel_tol=1e-12)
        ratios.append(expected)
    assert len({round(ratio, 6) for ratio in ratios}) == 3  # each feature its own figure, not the overall one
    base_total = sum(usd(e) for f in FEATURES for e in made[f]["baseline"]["events"])
    glm_total = sum(usd(e) for f in FEATURES for e in made[f]["glm"]["events"])
    assert math.isclose(result["overall"]["cost_ratio"], base_total / glm_total, rel_tol=1e-12)
    assert base_total / glm_total >= 2
    assert result["models"] == {HAIKU: "claude-haiku", GLM: "glm"}
    assert [item["number"] for item in result["criteria"]] == [1, 2, 3, 4, 5]
    assert all(item["pass"] for item in result["criteria"]) and result["pass"]
    text = tracked.ok("proxy", "compare")
    for row, ratio in zip(result["features"], ratios, strict=True):
        assert f"{row['feature_id']}: cost ratio x{ratio:.3g}" in text
    assert "G3: PASS" in text and max(len(line) for line in text.splitlines()) <= 80
    gate = g3(tracked)
    assert gate["pass"] is True and gate["detail"].startswith("all 5 criteria hold on 3 matched feature(s)")


@pytest.mark.parametrize("broken", [1, 2, 3, 4, 5])
def test_each_criterion_failing_alone_turns_g3_red_and_is_named_by_number(tracked: Sandbox, broken: int) -> None:
    made = poc(tracked, broken)
    result = compared(tracked)
    failing = [item["number"] for item in result["criteria"] if not item["pass"]]
    assert failing == [broken] and result["pass"] is False
    gate = g3(tracked)
    assert gate["pass"] is False
    named = [int(number) for number in re.findall(r"criterion (\d)", gate["detail"])]
    assert named == [broken], gate["detail"]
    glm = [e for f in FEATURES for e in made[f]["glm"]["events"]]
    base = [e for f in FEATURES for e in made[f]["baseline"]["events"]]
    detail = result["criteria"][broken - 1]["detail"]
    if broken == 1:
        ratio = sum(map(usd, base)) / sum(map(usd, glm))
        assert 1.5 < ratio < 2 and f"x{ratio:.3g} (< x2)" in detail
    elif broken == 2:
        pairs = [(made[f]["glm"]["quality"], made[f]["baseline"]["quality"]) for f in FEATURES]
        differences = [g - b for g, b in pairs]
        mean = sum(differences) / 3
        sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / 2)
        p = float(sst.t.cdf(mean / (sd / math.sqrt(3)), df=2))  # one-sided: GLM lower
        assert p < 0.05 and math.isclose(result["overall"]["quality_p"], p, rel_tol=1e-9)
        assert f"p={p:.3g}" in detail and "a significant drop" in detail
    elif broken == 3:
        rate = sum(1 for e in glm if e.status >= 400 or e.cut_off) / len(glm)
        assert rate > 0.02 and math.isclose(result["overall"]["glm"]["error_rate"], rate, rel_tol=1e-12)
        assert f"GLM {rate:.1%} vs baseline 0.0%" in detail
    elif broken == 4:
        p95 = nearest_rank([e.latency_ms for e in glm], 0.95)
        assert p95 == 700 and "GLM 700 ms vs baseline 500 ms" in detail
    else:
        assert "1 GLM-arm window(s) failed: F-2" in detail


def test_quality_below_the_factor_holds_when_the_paired_test_finds_no_significant_drop(tracked: Sandbox) -> None:
    write_prices(tracked)
    batches = []
    for number, (glm_quality, feature) in enumerate(zip((0.3, 0.9, 0.95), FEATURES, strict=True)):
        batches.append((closed_window(tracked, feature, "shipped", glm_quality), events_of([GLM_REQ], f"g{number}")))
        batches.append((closed_window(tracked, feature, "shipped", 0.9), events_of([HAIKU_REQ], f"b{number}")))
    seed(tracked, batches)
    quality = compared(tracked)["criteria"][1]
    differences = [0.3 - 0.9, 0.0, 0.95 - 0.9]
    mean = sum(differences) / 3
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / 2)
    p = float(sst.t.cdf(mean / (sd / math.sqrt(3)), df=2))
    assert (0.3 + 0.9 + 0.95) / 3 < 0.8 * 0.9 and p >= 0.05
    assert quality["pass"] is True and f"p={p:.3g}" in quality["detail"] and "no significant drop" in quality["detail"]


def test_no_matched_feature_is_no_data(tracked: Sandbox) -> None:
    write_prices(tracked)
    only_baseline = closed_window(tracked, "F-1", "shipped", 0.9)
    glm_without_feature = closed_window(tracked, None, "shipped", 0.9)
    glm_other_feature = closed_window(tracked, "F-2", "shipped", 0.9)
    seed(
        tracked,
        [
            (only_baseline, events_of([HAIKU_REQ], "b")),
            (glm_without_feature, events_of([GLM_REQ], "g")),
            (glm_other_feature, events_of([GLM_REQ], "h")),
        ],
    )
    result = compared(tracked)
    assert result["matched"] == 0 and result["criteria"] == [] and result["pass"] is False
    assert result["unmatched"] == {"glm": ["F-2"], "baseline": ["F-1"]} and result["windows_without_feature"] == 1
    assert result["overall"] is None
    gate = g3(tracked)
    assert gate["pass"] is False and gate["detail"].startswith("no data")
    assert "No matched feature" in tracked.ok("proxy", "compare")


def test_g3_is_no_data_without_any_proxy_event(tracked: Sandbox) -> None:
    closed_window(tracked, "F-1", "shipped", 0.9)
    gate = g3(tracked)
    assert gate == {"pass": False, "detail": gate["detail"]} and gate["detail"].startswith("no data")


def test_an_unpriced_model_leaves_its_cost_unknown_and_is_named(tracked: Sandbox) -> None:
    write_prices(tracked)
    mystery = Req("glm", "Mystery-7B", prompt=1000, completion=100)
    glm_window = closed_window(tracked, "F-1", "shipped", 0.9)
    base_window = closed_window(tracked, "F-1", "shipped", 0.9)
    seed(tracked, [(glm_window, events_of([GLM_REQ, mystery], "g")), (base_window, events_of([HAIKU_REQ], "b"))])
    result = compared(tracked)
    row = result["features"][0]
    assert row["glm"]["cost_usd"] is None and row["glm"]["unpriced_models"] == ["Mystery-7B"]
    assert row["cost_ratio"] is None and result["overall"]["cost_ratio"] is None
    assert math.isclose(row["baseline"]["cost_usd"], usd(events_of([HAIKU_REQ], "b")[0]), rel_tol=1e-12)
    assert result["models"] == {"Mystery-7B": None, GLM: "glm", HAIKU: "claude-haiku"}
    cost = result["criteria"][0]
    assert cost["pass"] is False and "no price for Mystery-7B" in cost["detail"]
    assert "criterion 1" in g3(tracked)["detail"]
    assert "no price for Mystery-7B" in tracked.ok("proxy", "compare")


# -- preview's Subagent Proxy block --------------------------------------------------------------------------------

PROXY_KEYS = {
    "total_prompts",
    "total_tokens",
    "glm_prompts",
    "routed_to_glm",
    "errors",
    "error_rate",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p95_ms",
}


def block_line(events: Sequence[Event]) -> str:
    """DESIGN §10's line, computed here."""
    glm = sum(1 for e in events if e.backend_provider == "glm")
    errors = sum(1 for e in events if e.status == 0 or e.status >= 400 or e.cut_off)
    latencies = [e.latency_ms for e in events]
    return (
        f"  - routed_to_glm={round(100 * glm / len(events))}% (prompts={glm}), "
        f"latency={nearest_rank(latencies, 0.5):.0f} ms p50 / {nearest_rank(latencies, 0.95):.0f} ms p95, "
        f"errors={100 * errors / len(events):.1f}%"
    )


def test_preview_prints_the_subagent_proxy_block_over_its_selection(tracked: Sandbox) -> None:
    assert (
        "Subagent Proxy" not in tracked.ok("preview") and json.loads(tracked.ok("preview", "--json"))["proxy"] is None
    )
    first = closed_window(tracked, "F-1", "shipped", 0.9, agent="a")
    second = closed_window(tracked, "F-2", "shipped", 0.8, agent="b")
    mine = events_of(
        [Req("glm", GLM, 100, 10, latency=820.0)] * 5
        + [Req("glm", GLM, 50, latency=1600.0), Req("haiku", HAIKU, 70, 7, latency=300.0)],
        "a",
    )
    theirs = events_of([Req("haiku", HAIKU, 30, 3, latency=410.5), Req("haiku", HAIKU, status=500, latency=90.0)], "b")
    nowhere = events_of([Req("glm", GLM, 10, 1, latency=2000.0)], "n")
    seed(tracked, [(first, mine), (second, theirs), (None, nowhere)])
    everything = mine + theirs + nowhere
    text = tracked.ok("preview")
    assert "\nSubagent Proxy:\n" + block_line(everything) + "\n" in text + "\n"
    report = json.loads(tracked.ok("preview", "--json"))["proxy"]
    assert set(report) == PROXY_KEYS
    assert report["total_prompts"] == len(everything) and report["glm_prompts"] == 7
    assert report["total_tokens"] == sum(e.tokens for e in everything)
    assert math.isclose(report["routed_to_glm"], 7 / 10) and math.isclose(report["error_rate"], 1 / 10)
    assert report["latency_p95_ms"] == nearest_rank([e.latency_ms for e in everything], 0.95)
    # --agent a: that agent's windows' events only (not the ones of no window).
    filtered = tracked.ok("preview", "--agent", "a")
    assert "\nSubagent Proxy:\n" + block_line(mine) + "\n" in filtered + "\n"
    assert json.loads(tracked.ok("preview", "--agent", "a", "--json"))["proxy"]["total_prompts"] == len(mine)
    by_agent = json.loads(tracked.ok("preview", "--by", "agent", "--json"))["groups"]
    assert {name: group["proxy"]["total_prompts"] for name, group in by_agent.items()} == {"a": 7, "b": 2}


# -- prices ---------------------------------------------------------------------------------------------------------


def test_the_longest_matching_name_prices_a_model_case_insensitively() -> None:
    prices = prices_from({"Claude-Haiku": {"input": 9, "output": 9, "cache_write": 9, "cache_read": 9}}, "t")
    assert price_for("CLAUDE-HAIKU-4-5", prices) == ("claude-haiku", prices["claude-haiku"])
    assert price_for("haiku-x", prices) == ("haiku", DEFAULT_PRICES["haiku"])
    assert price_for("GLM-4.6", prices) == ("glm", DEFAULT_PRICES["glm"])
    assert price_for("gpt-5", prices) is None and price_for(None, prices) is None


def test_a_partial_table_keeps_the_defaults_for_a_known_name_and_needs_all_for_a_new_one() -> None:
    assert prices_from({"glm": {"output": 3}}, "t")["glm"].to_dict() == {**DEFAULT_PRICES["glm"].to_dict(), "output": 3}
    with pytest.raises(BadInput, match=r"^t: prices.gpt-5: expected output, cache_write, cache_read too"):
        prices_from({"gpt-5": {"input": 1}}, "t")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[prices.glm]\ninput = -1\n", "prices.glm.input: expected US dollars per million tokens"),
        ("[prices.glm]\nbogus = 1\n", "prices.glm: unexpected key(s) bogus"),
        ("[prices]\nglm = 3\n", "prices.glm: expected a table with input, output"),
        ('[prices."a b"]\ninput = 1\noutput = 1\ncache_write = 1\ncache_read = "x"\n', 'prices."a b".cache_read'),
        ("[prices.GLM]\ninput = 1\n[prices.glm]\ninput = 2\n", "expected each name once"),
    ],
)
def test_bad_prices_are_one_line_naming_the_key_and_exit_2(tracked: Sandbox, table: str, message: str) -> None:
    settings = tracked.path / ".git-tracker.toml"
    settings.write_text(settings.read_text() + table)
    for command in (["proxy", "compare"], ["decide"]):
        done = tracked.tracker(*command)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


prices_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.text(max_size=3), st.booleans(), st.none()
)


@given(
    st.one_of(
        st.dictionaries(
            st.text(max_size=8),
            st.one_of(st.dictionaries(st.sampled_from([*FIELDS, "other"]), prices_values), prices_values),
            max_size=4,
        ),
        prices_values,
    )
)
@example({"\n": None})  # a name holding a line break made a two-line error (found by CI's examples)
@example({"glm": {"a\u2028b": 1}})
def test_prices_parser_accepts_only_finite_non_negative_prices_and_says_which_key(table: Any) -> None:
    try:
        prices = prices_from(table, "t")
    except BadInput as error:
        text = str(error)
        assert text.startswith("t: prices") and text.splitlines() == [text]  # one line, by any line break
        return
    assert isinstance(table, dict)
    assert set(prices) == set(DEFAULT_PRICES) | {name.lower() for name in table}
    for name, values in table.items():
        price = prices[name.lower()]
        for key in FIELDS:
            value = getattr(price, key)
            assert math.isfinite(value) and value >= 0 and (key not in values or value == values[key])


# -- the readers, the addon's path ------------------------------------------------------------------------------------


def test_rollups_take_each_windows_latest() -> None:
    def rollup(ts: str, prompts: int, window: str) -> Record:
        figures: dict[str, Any] = {
            "glm_prompts": 0,
            "routed_to_glm": 0.0,
            "errors": 0,
            "error_rate": 0.0,
            "total_tokens": 0,
        }
        latency: dict[str, Any] = {"latency_mean_ms": None, "latency_p50_ms": None, "latency_p95_ms": None}
        return Record.derived(
            "proxy-rollup",
            source="ingest",
            agent_id="main",
            machine="abcdefghijkl",
            ts=ts,
            window_id=window,
            total_prompts=prompts,
            **figures,
            **latency,
        )

    first, second = "01M8WS4NEBX8SBVT62FST3HPWF", "01M8WS4NEBX8SBVT62FST3HPWG"
    found = rollups(
        [
            rollup("2026-06-01T10:00:00.000Z", 9, first),
            rollup("2026-06-01T11:00:00.000Z", 3, first),
            rollup("2026-06-01T09:00:00.000Z", 4, second),
            rollup("2026-06-01T09:00:00.000Z", 5, second),
        ]
    )
    assert {window: body["total_prompts"] for window, body in found.items()} == {first: 3, second: 5}


def test_addon_path_names_the_shipped_addon_without_importing_it(sandbox: Sandbox) -> None:
    import gittracker.proxy

    printed = sandbox.ok("proxy", "addon-path").strip()
    # The installed command's copy (site-packages, in CI) or this checkout's (an editable install): the same file.
    source = Path(gittracker.proxy.__file__).resolve().parent / "addon.py"
    assert Path(printed).is_absolute() and Path(printed).name == "addon.py"
    assert Path(printed).read_bytes() == source.read_bytes()
    code = "import sys, gittracker.proxy as p; p.addon_path(); print('mitmproxy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
