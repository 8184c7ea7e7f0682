"""One currency across providers: preview and decide in subscription dollars, through the installed CLI on a real
repository, checked against computations written out here from the formulas (docs/statistics.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st_h
from scipy import stats as st  # type: ignore[import-untyped,unused-ignore]

from gittracker import stats
from gittracker.errors import BadInput
from gittracker.plans import DEFAULT_PLAN, KNOWN_PLANS, plan_for
from tests.conftest import Sandbox
from tests.test_preview import fieller_brute_force, noncentral_t_power

WEIGHT = {"shipped": 1.0, "partial": 0.5, "failed": 0.0}
DAYS_PER_MONTH = 365.25 / 12
CODEX_PRICE, CLAUDE_PRICE = 180.0, 90.0
SETTINGS = f"""
[stats]
baseline = "codex"

[plans.codex]
plan = "pro"
price_usd = {CODEX_PRICE}

[plans.claude]
plan = "max-5x"
price_usd = {CLAUDE_PRICE}
"""

# codex on a weekly-only plan: (weekly before, weekly after, outcome, quality)
CODEX = [
    (10.0, 13.5, "shipped", 0.9),
    (13.5, 15.0, "partial", 0.8),
    (15.0, 19.5, "shipped", 0.7),
    (19.5, 21.0, "shipped", 1.0),
    (21.0, 24.5, "shipped", 0.6),
]
# claude on its 5-hour meter: (5h before, 5h after, weekly before, weekly after or None, outcome, quality)
CLAUDE_FIRST = [
    (5.0, 25.0, 2.0, 4.5, "shipped", 0.9),
    (25.0, 40.0, 4.5, 6.0, "shipped", 0.8),
    (40.0, 52.0, None, None, "partial", 0.9),
    (52.0, 70.0, None, None, "shipped", 0.7),
    (70.0, 81.0, None, None, "shipped", 1.0),
]
CLAUDE_LATER = [
    (81.0, 90.0, 10.0, 11.5, "shipped", 0.95),
    (90.0, 99.0, 11.5, 13.0, "partial", 0.6),
]


def codex_window(box: Sandbox, before: float, after: float, outcome: str, quality: float) -> None:
    box.ok("start", "codex", "--weekly", str(before))
    box.commit()
    box.ok("end", "codex", "--weekly", str(after))
    box.ok("complete", "--outcome", outcome, "--quality", str(quality))


def claude_window(
    box: Sandbox, used: float, used_after: float, weekly: float | None, weekly_after: float | None, *done: Any
) -> None:
    box.ok("start", "claude", "--used", str(used), *(["--weekly", str(weekly)] if weekly is not None else []))
    box.commit()
    box.ok("end", "claude", "--used", str(used_after), *(["--weekly", str(weekly_after)] if weekly_after else []))
    box.ok("complete", "--outcome", done[0], "--quality", str(done[1]))


def week_price(monthly: float) -> float:
    return monthly * 7 / DAYS_PER_MONTH


def delta_method_var_log_ratio(x: list[float], y: list[float]) -> float:
    """var(log(x̄/ȳ)) by the textbook delta method: gradient (1/x̄, -1/ȳ) through the sample covariance, over n."""
    cov = np.cov(np.array([x, y]), ddof=1)
    mx, my = np.mean(x), np.mean(y)
    return float((cov[0, 0] / mx**2 - 2 * cov[0, 1] / (mx * my) + cov[1, 1] / my**2) / len(x))


def widened(estimate: float, lo: float, hi: float, half: float) -> tuple[float, float]:
    """Fieller's interval of R widened on the log scale by a rate's t half-width, in quadrature (MOVER)."""
    below, above = math.log(estimate / lo), math.log(hi / estimate)
    return estimate * math.exp(-math.hypot(below, half)), estimate * math.exp(math.hypot(above, half))


def close(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)


def test_preview_compares_providers_on_different_meters_in_subscription_dollars(tracked: Sandbox) -> None:
    (tracked.path / ".git-tracker.toml").write_text(SETTINGS)
    for row in CODEX:
        codex_window(tracked, *row)
    for claude_row in CLAUDE_FIRST:
        claude_window(tracked, *claude_row)

    # Two claude windows show both meters: the 5h -> weekly conversion is unknown, and so is any comparison.
    report = json.loads(tracked.ok("preview", "--json"))
    reason = "claude five_hour -> weekly conversion needs n >= 3 windows with both deltas, has 2"
    assert report["comparisons"]["claude"] == {
        "currency": "USD",
        "meter": "five_hour",
        "baseline_meter": "weekly",
        "method": None,
        "note": f"not comparable: {reason}",
    }
    claude = report["providers"]["claude"]["dollars"]
    assert (claude["efficiency"], claude["usd_per_unit"], claude["reason"]) == (None, None, reason)
    assert claude["k"]["n"] == 2 and claude["k"]["estimate"] is not None
    assert f"claude vs codex: not comparable: {reason}" in report["notes"]
    assert "not comparable" in tracked.ok("preview")
    # Power is the chance of detecting a difference from the baseline: none while claude cannot be compared with
    # it, and none for the baseline itself; decide says why instead of reading a power against nothing.
    assert report["providers"]["claude"]["power"] is None and report["providers"]["codex"]["power"] is None
    g1 = json.loads(tracked.ok("decide", "--json"))["gates"]["G1"]["providers"]
    assert f"ci_width=n/a: no figure in dollars ({reason})" in g1["claude"]["as_of"][-1]["failed"]
    assert "power=n/a: not comparable with the baseline in dollars" in g1["claude"]["as_of"][-1]["failed"]
    assert "power=n/a: the baseline is what the others are compared with" in g1["codex"]["as_of"][-1]["failed"]

    for claude_row in CLAUDE_LATER:
        claude_window(tracked, *claude_row)
    report = json.loads(tracked.ok("preview", "--json"))
    codex, claude = report["providers"]["codex"], report["providers"]["claude"]
    assert (codex["meter"], codex["unit"], claude["meter"], claude["unit"]) == (
        "weekly",
        "percent",
        "five_hour",
        "percent",
    )

    # codex: a percent of the week is a hundredth of a week of the plan's price.
    codex_rate = week_price(CODEX_PRICE) / 100
    codex_work = [WEIGHT[r[2]] * r[3] for r in CODEX]
    codex_cap = [r[1] - r[0] for r in CODEX]
    dollars = codex["dollars"]
    assert (dollars["plan"], dollars["price_usd_per_month"], dollars["price_is_default"]) == ("pro", 180.0, False)
    assert dollars["conversion"] == "share of the plan's week" and dollars["k"] is None
    assert close(dollars["usd_per_unit"], codex_rate)
    assert close(dollars["efficiency"], sum(codex_work) / (sum(codex_cap) * codex_rate))
    lo, hi = fieller_brute_force(codex_work, codex_cap)
    assert close(dollars["ci"][0], lo / codex_rate) and close(dollars["ci"][1], hi / codex_rate)
    assert close(dollars["capacity_usd"], sum(codex_cap) * codex_rate)

    # claude: a percent of 5 hours is worth k percent of the week, k from the windows that showed both.
    claude_rows = CLAUDE_FIRST + CLAUDE_LATER
    pairs = [(r[3] - r[2], r[1] - r[0]) for r in claude_rows if r[2] is not None and r[3] is not None]
    weekly, short = [p[0] for p in pairs], [p[1] for p in pairs]
    k = sum(weekly) / sum(short)
    var_log_k = delta_method_var_log_ratio(weekly, short)
    claude_rate = k * week_price(CLAUDE_PRICE) / 100
    claude_work = [WEIGHT[r[4]] * r[5] for r in claude_rows]
    claude_cap = [r[1] - r[0] for r in claude_rows]
    dollars = claude["dollars"]
    assert (dollars["plan"], dollars["price_usd_per_month"], dollars["price_is_default"]) == ("max-5x", 90.0, False)
    assert dollars["conversion"] == "through the weekly meter"
    assert dollars["k"]["n"] == len(pairs) == 4 and close(dollars["k"]["estimate"], k)
    k_lo, k_hi = fieller_brute_force(weekly, short)
    assert close(dollars["k"]["ci"][0], k_lo) and close(dollars["k"]["ci"][1], k_hi)
    assert close(dollars["k"]["log_variance"], var_log_k) and dollars["k"]["df"] == len(pairs) - 1
    assert close(dollars["usd_per_unit"], claude_rate)
    per_dollar = sum(claude_work) / (sum(claude_cap) * claude_rate)
    assert close(dollars["efficiency"], per_dollar)
    lo, hi = fieller_brute_force(claude_work, claude_cap)
    half = st.t.ppf(0.975, len(pairs) - 1) * math.sqrt(var_log_k)
    expected_lo, expected_hi = widened(per_dollar, lo / claude_rate, hi / claude_rate, half)
    assert close(dollars["ci"][0], expected_lo) and close(dollars["ci"][1], expected_hi)

    # claude against codex: Welch on log work per dollar, var(log k) added, df by Welch-Satterthwaite.
    a = np.log(np.array(claude_work) / (np.array(claude_cap) * claude_rate))
    b = np.log(np.array(codex_work) / (np.array(codex_cap) * codex_rate))
    parts: list[tuple[float, int]] = [
        (float(np.var(a, ddof=1)) / len(a), len(a) - 1),
        (float(np.var(b, ddof=1)) / len(b), len(b) - 1),
        (var_log_k, len(pairs) - 1),
    ]
    se2 = sum(v for v, _ in parts)
    df = se2**2 / sum(v**2 / d for v, d in parts)
    difference = a.mean() - b.mean()
    t = st.t.ppf(0.975, df)
    versus = report["comparisons"]["claude"]
    assert (versus["method"], versus["currency"], versus["n_a"], versus["n_b"]) == ("welch", "USD", 7, 5)
    assert (versus["meter"], versus["baseline_meter"]) == ("five_hour", "weekly")
    assert close(versus["ratio"], math.exp(difference))
    assert close(versus["df"], df)
    assert close(versus["ci"][0], math.exp(difference - t * math.sqrt(se2)))
    assert close(versus["ci"][1], math.exp(difference + t * math.sqrt(se2)))
    assert close(versus["p"], 2 * st.t.sf(abs(difference) / math.sqrt(se2), df))
    assert versus["p_holm"] == versus["p"]
    assert close(versus["conversion_log_variance"], var_log_k)
    # The ratio of per-dollar efficiencies is the ratio of per-percent ones times the price of a percent.
    native = (
        np.log(np.array(claude_work) / np.array(claude_cap)).mean()
        - np.log(np.array(codex_work) / np.array(codex_cap)).mean()
    )
    assert close(versus["ratio"], math.exp(native) * codex_rate / claude_rate)
    text = tracked.ok("preview")
    assert "per $" in text and "k = " in text and "not comparable" not in text
    # The power column: "-" for the baseline, claude's figure against it, and one line under the table saying what
    # the figure is.
    header = next(line for line in text.splitlines() if line.startswith("provider "))
    column = slice(header.index("power"), header.index("power") + len("power"))
    rows = {line.split()[0]: line for line in text.splitlines() if line.startswith(("codex ", "claude "))}
    assert rows["codex"][column].strip() == "-" and rows["claude"][column].strip() == f"{claude['power']:.2g}"
    assert "power: probability of detecting a 25% difference from codex at the current n" in text.splitlines()
    # Comparable in dollars: claude's prospective power is against the baseline's windows (pooled SD of log
    # efficiencies, which a constant price per unit does not change), mde 0.25.
    pooled = math.sqrt(((len(a) - 1) * np.var(a, ddof=1) + (len(b) - 1) * np.var(b, ddof=1)) / (len(a) + len(b) - 2))
    expected_power = noncentral_t_power(math.log(1.25) / pooled, len(a), len(b))
    assert close(claude["power"], expected_power)

    # decide's G1 reads the same dollar figure: claude as of its last close, with that window's outcome (recorded
    # after its close) counted.
    g1 = json.loads(tracked.ok("decide", "--json"))["gates"]["G1"]["providers"]["claude"]["as_of"][-1]
    lo, hi = fieller_brute_force(claude_work, claude_cap)
    estimate = sum(claude_work) / (sum(claude_cap) * claude_rate)
    expected_lo, expected_hi = widened(estimate, lo / claude_rate, hi / claude_rate, half)
    assert close(g1["ci_width"], (expected_hi - expected_lo) / estimate)


def window(
    box: Sandbox, provider: str, before: dict[str, float], after: dict[str, float], quality: float | None
) -> None:
    """A window with typed readings (``{"used": 10, "weekly": 3}``); ``quality`` None leaves its outcome pending."""

    def options(reading: dict[str, float]) -> list[str]:
        return [item for name, value in reading.items() for item in (f"--{name}", str(value))]

    box.ok("start", provider, *options(before))
    box.commit()
    box.ok("end", provider, *options(after))
    if quality is not None:
        box.ok("complete", "--outcome", "shipped", "--quality", str(quality))


def test_statistics_never_mix_meters_and_units_come_from_the_meter(tracked: Sandbox) -> None:
    weekly_only = [(10.0, 14.0, 0.9), (14.0, 16.0, 0.8), (16.0, 21.0, 1.0)]
    for before, after, quality in weekly_only:
        window(tracked, "codex", {"weekly": before}, {"weekly": after}, quality)
    both = [(5.0, 25.0, 30.0, 32.0, 0.7), (25.0, 35.0, 32.0, 33.5, 0.9)]
    for used, used_after, weekly, weekly_after, quality in both:
        window(
            tracked, "codex", {"used": used, "weekly": weekly}, {"used": used_after, "weekly": weekly_after}, quality
        )
    # glm bound on a percent meter by configuration: its unit is percent, not the provider's usual prompts.
    settings = tracked.path / ".git-tracker.toml"
    settings.write_text(settings.read_text() + '\n[capacity]\nglm = "five_hour"\n')
    window(tracked, "glm", {"used": 10.0}, {"used": 30.0}, 1.0)

    report = json.loads(tracked.ok("preview", "--json"))
    codex = report["providers"]["codex"]
    # The headline is the weekly meter (3 usable windows against 2); each meter has its own statistics.
    assert (codex["meter"], codex["n"], codex["windows"]) == ("weekly", 3, 3)
    assert close(codex["efficiency"], sum(q for *_, q in weekly_only) / sum(a - b for b, a, _ in weekly_only))
    assert set(codex["other_meters"]) == {"five_hour"}
    short = codex["other_meters"]["five_hour"]
    assert (short["meter"], short["unit"], short["n"], short["windows"]) == ("five_hour", "percent", 2, 2)
    assert close(short["capacity_used"], 30.0) and close(short["efficiency"], (0.7 + 0.9) / 30.0)
    assert "other_meters" not in short
    assert short["power"] is None  # another meter of a provider is compared with nothing: it has no power
    # The 5h meter's dollars go through the weekly meter: two windows show both, fewer than the 3 it needs.
    assert (
        short["dollars"]["reason"]
        == "codex five_hour -> weekly conversion needs n >= 3 windows with both deltas, has 2"
    )
    assert codex["dollars"]["conversion"] == "share of the plan's week"
    assert (codex["dollars"]["plan"], codex["dollars"]["price_is_default"]) == ("plus", True)
    assert close(codex["dollars"]["usd_per_unit"], week_price(20.0) / 100)
    note = (
        "codex: statistics never mix meters: the headline is on weekly (the meter with the most usable windows), "
        "5h under other_meters"
    )
    assert note in report["notes"]
    glm = report["providers"]["glm"]
    assert (glm["meter"], glm["unit"], glm["capacity_used"]) == ("five_hour", "percent", 20.0)
    text = tracked.ok("preview")
    assert "codex    weekly" in text and "codex    5h" in text and "glm      5h" in text


def test_primary_meter_ties_go_to_more_closed_windows_then_the_shorter_meter(tracked: Sandbox) -> None:
    window(tracked, "claude", {"weekly": 10.0}, {"weekly": 12.0}, 1.0)
    window(tracked, "claude", {"used": 10.0}, {"used": 30.0}, 1.0)
    assert json.loads(tracked.ok("preview", "--json"))["providers"]["claude"]["meter"] == "five_hour"
    window(tracked, "claude", {"weekly": 12.0}, {"weekly": 15.0}, None)  # pending: not usable, but closed
    settings = tracked.path / ".git-tracker.toml"
    settings.write_text(settings.read_text().replace('baseline = ""', 'baseline = "codex"'))
    report = json.loads(tracked.ok("preview", "--json"))
    claude = report["providers"]["claude"]
    assert (claude["meter"], claude["n"], claude["windows"], claude["pending"]) == ("weekly", 1, 2, 1)
    # A configured baseline without windows: the gate says there is nothing to test against yet.
    assert "(have 1 v 0 windows, 0 pairs)" in report["comparisons"]["claude"]["note"]


def test_schema_1_windows_are_on_the_5_hour_meter_or_prompts(tracked: Sandbox) -> None:
    from tests.test_foreign_records import at_its_path, stamp

    files = []
    windows = (("codex", 12.0, "percent"), ("glm", 60.0, "prompts"), ("glm", 40.0, "prompts"))
    for day, (provider, delta, unit) in enumerate(windows, 1):
        # One window a day: two glm windows open at once would share one meter, and be left out as overlapping.
        close_record = stamp(
            "window-close",
            ts=f"2026-06-0{day}T11:00:00.000Z",
            schema_version=1,
            window_id=clock_id(),
            provider=provider,
            commit_start=None,
            commit_end=None,
            snapshot_id=clock_id(),
            opened_ts=f"2026-06-0{day}T10:00:00.000Z",
            delta=delta,
            unit=unit,
            errors=[],
            notes=[],
            feature_id=None,
            methodology=None,
            note=None,
        )
        done = stamp(
            "completion", schema_version=1, window_id=close_record["window_id"], outcome="shipped", quality_score=0.9
        )
        files += [at_its_path(close_record), at_its_path({**done, "feature_id": None})]
    tracked.write_ledger_files(dict(files))
    report = json.loads(tracked.ok("preview", "--json"))
    codex, glm = report["providers"]["codex"], report["providers"]["glm"]
    assert (codex["meter"], codex["unit"], codex["n"]) == ("five_hour", "percent", 1)
    assert (glm["meter"], glm["unit"], glm["n"], glm["capacity_used"]) == ("prompts", "prompts", 2, 100.0)
    # glm's default plan, lite: $18 a month and 120 prompts per 5 hours, both marked as defaults.
    dollars = glm["dollars"]
    assert (dollars["plan"], dollars["prompts_per_5h"], dollars["prompts_is_default"]) == ("lite", 120, True)
    rate = 18.0 / (DAYS_PER_MONTH * 24 * 60) * 300 / 120
    assert close(dollars["usd_per_unit"], rate) and close(dollars["efficiency"], 1.8 / (100 * rate))
    assert report["baseline"] == "glm"  # the most closed windows
    assert report["comparisons"]["codex"]["note"] == (
        "not comparable: codex five_hour -> weekly conversion needs n >= 3 windows with both deltas, has 0"
    )


def clock_id() -> str:
    from gittracker import clock

    return clock.new_id()


# --- the docs say what the code does --------------------------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs"
EN_DASH = "\N{EN DASH}"  # the docs' "none" and range sign


def markdown_rows(text: str, after: str) -> list[list[str]]:
    """The cells of the first table after the line ``after``, header and rule left out."""
    lines = text[text.index(after) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
    return rows


def test_configuration_doc_lists_the_known_plans_and_defaults_as_plans_py_has_them() -> None:
    rows = markdown_rows((DOCS / "configuration.md").read_text(), "Known plans and their list prices")
    documented = {
        (provider, plan): (float(price), None if quota == EN_DASH else int(quota), default == "yes")
        for provider, plan, price, quota, default in rows
    }
    expected = {
        (provider, plan): (price, quota, DEFAULT_PLAN[provider] == plan)
        for provider, known in KNOWN_PLANS.items()
        for plan, (price, quota) in known.items()
    }
    assert documented == expected


def test_statistics_doc_worked_example_is_what_the_code_computes() -> None:
    from gittracker import currency  # here, so each test fails on its own against code without it

    claude_plan, codex_plan = plan_for("claude", {"plan": "max-5x"}), plan_for("codex", {})
    pairs = [(3.0, 20.0), (1.0, 10.0), (2.0, 10.0), (2.0, 20.0)]  # (weekly, 5h) of the four claude windows
    claude = currency.conversion("claude", "five_hour", claude_plan, pairs)
    codex = currency.conversion("codex", "weekly", codex_plan, [])
    assert claude.usd_per_unit and codex.usd_per_unit and claude.k and claude.k.ci and claude.log_variance
    claude_work, claude_cap = [0.9, 0.5, 0.8, 1.0], [20.0, 10.0, 10.0, 20.0]
    codex_work, codex_cap = [0.9, 0.8, 1.0, 0.6], [4.0, 2.0, 5.0, 2.0]
    per_dollar = {
        name: stats.converted_ratio(stats.ratio_of_sums(work, cap), rate.usd_per_unit or 0, rate.log_variance)
        for name, work, cap, rate in (
            ("claude", claude_work, claude_cap, claude),
            ("codex", codex_work, codex_cap, codex),
        )
    }
    native = stats.welch_log_ratio(
        [o / c for o, c in zip(claude_work, claude_cap, strict=True)],
        [o / c for o, c in zip(codex_work, codex_cap, strict=True)],
    )
    compared = stats.converted_comparison(native, codex.usd_per_unit / claude.usd_per_unit, [claude.log_variance])
    assert compared.ci and compared.df and compared.p and compared.ratio
    claude_ci, codex_ci = per_dollar["claude"].ci, per_dollar["codex"].ci
    assert claude_ci and codex_ci
    computed: dict[str, list[float | None]] = {
        "k": [claude.k.estimate],
        "k ci": list(claude.k.ci),
        "var(log k)": [claude.log_variance.variance],
        "claude rate": [claude.usd_per_unit],
        "codex rate": [codex.usd_per_unit],
        "claude per dollar": [per_dollar["claude"].estimate],
        "claude per dollar ci": list(claude_ci),
        "codex per dollar": [per_dollar["codex"].estimate],
        "codex per dollar ci": list(codex_ci),
        "ratio": [compared.ratio],
        "ratio ci": list(compared.ci),
        "df": [compared.df],
        "p": [compared.p],
    }
    rows = markdown_rows((DOCS / "statistics.md").read_text(), "4. Welch on log efficiency per percent")
    documented = {name: [float(part) for part in value.split(f" {EN_DASH} ")] for name, value in rows}
    assert set(documented) == set(computed)
    for name, values in computed.items():
        # The doc gives 4 significant digits.
        shown = zip(documented[name], values, strict=True)
        assert all(c is not None and math.isclose(d, c, rel_tol=6e-4) for d, c in shown), name


def test_bad_plans_are_refused_naming_the_key(tracked: Sandbox) -> None:
    window(tracked, "codex", {"used": 10.0}, {"used": 20.0}, 1.0)
    settings = tracked.path / ".git-tracker.toml"
    before = tracked.git("rev-parse", "tracker-ledger")
    for table, message in (
        ("[plans.claude]\nprice_usd = -5\n", "plans.claude.price_usd: expected a price per month above 0, got -5"),
        ('[plans.codex]\nplan = "team"\n', "plans.codex.price_usd: expected a price per month for plan 'team'"),
        ("[plans.glm]\nprompts = 1.5\n", "plans.glm.prompts: expected a whole number of prompts per 5-hour window"),
        ("[plans.claude]\ncost = 3\n", "plans.claude: unexpected key(s) cost"),
    ):
        settings.write_text(table)
        done = tracked.tracker("preview")
        assert done.returncode == 2 and done.stdout == "", (table, done.stderr)
        (line,) = done.stderr.splitlines()
        assert message in line, (table, line)
    assert tracked.git("rev-parse", "tracker-ledger") == before


@given(
    st_h.dictionaries(
        st_h.sampled_from(["plan", "price_usd", "prompts", "other"]),
        st_h.one_of(st_h.none(), st_h.booleans(), st_h.integers(-10, 10**10), st_h.floats(), st_h.text(max_size=8)),
    ),
    st_h.sampled_from(["codex", "claude", "glm"]),
)
def test_plan_parser_raises_only_bad_input(table: dict[str, Any], provider: str) -> None:
    from gittracker import currency

    try:
        plan = plan_for(provider, table)
    except BadInput as error:
        assert "\n" not in str(error) and f"plans.{provider}" in str(error)
        return
    assert 0 < plan.price_usd <= 1_000_000 and plan.price_is_default == ("price_usd" not in table)
    weekly = currency.conversion(provider, "weekly", plan, [])
    # A rate is a positive dollar figure, or unknown with the reason (a price so small its share underflows).
    if weekly.usd_per_unit is None:
        assert weekly.reason and "no usable price" in weekly.reason and plan.price_usd < 1e-300
    else:
        assert math.isfinite(weekly.usd_per_unit) and weekly.usd_per_unit > 0


def test_conversions_hand_worked() -> None:
    from gittracker import currency  # here, so each test fails on its own against code without it

    # A plan at $30.4375 a month costs exactly $1 a day (365.25 / 12 days to a month), $7 a week.
    plan = plan_for("glm", {"plan": "custom", "price_usd": 30.4375, "prompts": 100})
    rates = {
        meter: currency.conversion("glm", meter, plan, []).usd_per_unit for meter in ("weekly", "monthly", "annual")
    }
    assert rates == pytest.approx({"weekly": 0.07, "monthly": 0.304375, "annual": 3.6525})
    # A prompt is a hundredth of 5 hours' price: 5/24 dollars / 100.
    assert currency.conversion("glm", "prompts", plan, []).usd_per_unit == pytest.approx(5 / 24 / 100)
    # 5h through the weekly meter: k = (1 + 2 + 3) / 30 = 0.2 weekly percent per 5h percent, so $0.014.
    through = currency.conversion("glm", "five_hour", plan, [(1.0, 10.0), (2.0, 10.0), (3.0, 10.0)])
    assert through.k is not None and through.k.estimate == pytest.approx(0.2) and through.k.n == 3
    assert through.usd_per_unit == pytest.approx(0.014) and through.method == "through the weekly meter"
    # var(log k): residuals (-1, 0, 1), variance 1; W̄ = 2: 1 / (3 · 4) on 2 df.
    assert through.log_variance is not None
    assert close(through.log_variance.variance, 1 / 12) and through.log_variance.df == 2
    no_quota = currency.conversion("codex", "prompts", plan_for("codex", {}), [])
    assert no_quota.reason == "codex prompts: plan 'plus' has no prompt quota (set plans.codex.prompts)"
    claude = plan_for("claude", {})
    # Three windows whose 5h deltas swing too much to bound k (Fieller's a <= 0): unknown, and said so.
    swinging = currency.conversion("claude", "five_hour", claude, [(1.0, 20.0), (1.0, 2.0), (1.0, 0.5)])
    assert swinging.reason == (
        "claude five_hour -> weekly conversion: k = 0.133 from 3 windows, but with an unbounded interval (Fieller)"
    )
    idle = currency.conversion("claude", "five_hour", claude, [(1.0, 0.0), (2.0, 0.0), (1.0, 0.0)])
    assert (
        idle.reason
        == "claude five_hour -> weekly conversion: the 5h meter did not move in the 3 windows with both deltas"
    )
    still = currency.conversion("claude", "weekly_sonnet", claude, [(0.0, 4.0), (0.0, 2.0), (0.0, 3.0)])
    assert still.reason == (
        "claude weekly_sonnet -> weekly conversion: the weekly meter did not move in the 3 windows with both deltas"
    )


def test_paired_deltas_read_both_directions_and_only_known_deltas() -> None:
    from gittracker import currency  # here, so each test fails on its own against code without it

    windows: list[currency.WindowDeltas] = [
        ("five_hour", 20.0, {"weekly": 2.0}),  # bound on 5h, weekly beside it
        ("weekly", 3.0, {"five_hour": 25.0}),  # bound on the week, 5h beside it
        ("weekly_sonnet", 1.0, {"weekly": 4.0, "five_hour": 30.0}),  # both beside a third meter
        ("five_hour", None, {"weekly": 1.0}),  # the binding delta unknown (a reset inside)
        ("five_hour", 10.0, {"weekly": None}),  # the weekly meter reset inside
        ("five_hour", 10.0, {"weekly": -1.0}),  # not a delta any version writes
        ("five_hour", 10.0, {}),  # the weekly meter not shown
    ]
    assert currency.paired_deltas(windows, "five_hour") == [(2.0, 20.0), (3.0, 25.0), (4.0, 30.0)]
    assert currency.paired_deltas(windows, "weekly_sonnet") == [(4.0, 1.0)]


def test_intervals_of_work_per_unit_and_per_dollar_are_cut_at_zero_on_every_row(tracked: Sandbox) -> None:
    """Efficiency is a ratio of non-negative sums: every interval shown for it (headline, other meters, dollars)
    is Fieller's intersected with R >= 0, here where Fieller's own lower bound is negative on each meter."""
    five_hour = [(0.0, 10.0, 0.0, 2.0, 1.0), (10.0, 20.0, 2.0, 3.0, 0.0), (20.0, 30.0, 3.0, 5.0, 0.0)]
    five_hour.append((30.0, 40.0, 5.0, 6.0, 0.5))
    for used, used_after, weekly, weekly_after, quality in five_hour:
        window(
            tracked, "claude", {"used": used, "weekly": weekly}, {"used": used_after, "weekly": weekly_after}, quality
        )
    weekly_only = [(6.0, 8.0, 1.0), (8.0, 10.0, 0.0), (10.0, 12.0, 0.0)]
    for before, after, quality in weekly_only:
        window(tracked, "claude", {"weekly": before}, {"weekly": after}, quality)
    claude = json.loads(tracked.ok("preview", "--json"))["providers"]["claude"]
    short, week = claude, claude["other_meters"]["weekly"]
    assert (short["meter"], week["meter"]) == ("five_hour", "weekly")
    raw_short = fieller_brute_force([q for *_, q in five_hour], [a - b for b, a, *_ in five_hour])
    raw_week = fieller_brute_force([q for *_, q in weekly_only], [a - b for b, a, _ in weekly_only])
    assert raw_short[0] < 0 and raw_week[0] < 0  # Fieller's interval alone reaches below 0 on both meters
    for row, raw in ((short, raw_short), (week, raw_week)):
        assert row["ci"][0] == 0.0 and close(row["ci"][1], raw[1])
        assert row["dollars"]["ci"] is not None and row["dollars"]["ci"][0] == 0.0
    assert claude["dollars"]["k"]["ci"][0] > 0
    text = tracked.ok("preview")
    assert text.count(" [0, ") == 3  # both rows of the table, and the headline meter's figure per dollar
