"""Documents made from real runs, so they cannot go stale: ``python docs/generate.py experiment`` rewrites
docs/experiment.md from what the installed ``git tracker`` prints in a throwaway repository; ``--check`` compares
instead and exits 1 when the document differs (tests/test_generated_docs.py runs it in CI).

``python docs/generate.py report`` builds the demo and takes a screenshot of its report in headless Chromium
(docs/images/report-demo.png, shown in docs/report.md). Pixels differ from one machine's Chromium and fonts to
another's, so its ``--check`` compares none: it checks that docs/report.md shows the image and that the image is a
PNG 1280 px wide, small and not blank.

Every command runs for real: real ``git``, the installed hooks, the ledger. Only time is simulated: each command
runs with ``GIT_TRACKER_NOW`` and git's dates pinned to the walkthrough's clock, and the capacity readings typed
are made up from a known provider effect and a known learning effect, said in the text. Ids that hold random bits
(record ids) are shown with those bits replaced in the order they first appear; nothing else is edited.
"""

from __future__ import annotations

import argparse
import base64
import difflib
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gittracker.demo import wait_for_flushers
from gittracker.plans import DAYS_PER_MONTH

DOCS = Path(__file__).resolve().parent
START = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)  # a Monday
MACHINE = "exampleclone"  # this clone's machine id (12 of a-z, 2-7), so the output names it the same every run
ULID = re.compile(r"\b([0-9A-HJKMNP-TV-Z]{10})([0-9A-HJKMNP-TV-Z]{16})\b")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _tracker_on_path() -> str:
    """The PATH the commands run with: the folder of the installed ``git-tracker`` first."""
    script = shutil.which("git-tracker") or str(Path(sys.executable).with_name("git-tracker"))
    if not Path(script).exists():
        raise SystemExit("docs/generate.py: expected git-tracker installed (pip install -e .), found none")
    return os.pathsep.join([str(Path(script).parent), os.environ.get("PATH", "")])


@dataclass
class Walkthrough:
    """A throwaway repository, a pinned clock, and the markdown of every command run in it with its output."""

    root: Path
    clock: datetime = START
    parts: list[str] = field(default_factory=list)
    _ids: dict[str, str] = field(default_factory=dict)
    _path: str = field(default_factory=_tracker_on_path)

    def say(self, text: str) -> None:
        self.parts.append(text.strip("\n") + "\n")

    def later(self, minutes: float) -> None:
        self.clock += timedelta(minutes=minutes)

    def env(self) -> dict[str, str]:
        stamp = self.clock.strftime("%Y-%m-%dT%H:%M:%SZ")
        env = {key: value for key, value in os.environ.items() if not key.startswith(("GIT_", "AGENT_ID"))}
        for key in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "CLAUDE_CODE_SESSION_ID", "CODEX_THREAD_ID"):
            env.pop(key, None)
        env.update(
            PATH=self._path,
            HOME=str(self.root / "home"),
            XDG_CONFIG_HOME=str(self.root / "home" / ".config"),
            XDG_STATE_HOME=str(self.root / "home" / ".local" / "state"),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_TRACKER_NOW=stamp,
            GIT_AUTHOR_NAME="Dana Dev",
            GIT_AUTHOR_EMAIL="dana@example.com",
            GIT_COMMITTER_NAME="Dana Dev",
            GIT_COMMITTER_EMAIL="dana@example.com",
            GIT_AUTHOR_DATE=stamp,
            GIT_COMMITTER_DATE=stamp,
            TZ="UTC",
            COLUMNS="100",
            NO_COLOR="1",
        )
        return env

    def run(self, command: str, *, expect: int = 0) -> str:
        """Run one shell-quoted command in the repository, a minute after the last; its output (stdout and stderr
        as they came)."""
        self.later(1)
        done = subprocess.run(
            shlex.split(command),
            cwd=self.root / "shop",
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if done.returncode != expect:
            raise SystemExit(
                f"docs/generate.py: `{command}` exited {done.returncode}, expected {expect}:\n{done.stdout}"
            )
        output = self._stable(done.stdout.rstrip("\n"))
        return output + (f"\n[exit {done.returncode}]" if done.returncode else "")

    def show(self, *commands: str, expect: int = 0) -> None:
        """Commands and their outputs as one shell block."""
        lines = []
        for command in commands:
            lines.append(f"$ {command}")
            output = self.run(command, expect=expect)
            if output:
                lines.append(output)
        self.say("```console\n" + "\n".join(lines) + "\n```")

    def quietly(self, command: str) -> None:
        """A step of the story the reader need not see (writing files, the simulated clock)."""
        self.run(command)

    def _stable(self, text: str) -> str:
        """Record ids with their random bits replaced, the same id the same way each time it appears."""

        def replace(match: re.Match[str]) -> str:
            whole = match.group(0)
            if whole not in self._ids:
                number = len(self._ids) + 1
                tail = "".join(CROCKFORD[(number >> (5 * i)) & 31] for i in reversed(range(16)))
                self._ids[whole] = match.group(1) + tail
            return self._ids[whole]

        return ULID.sub(replace, text.replace(str(self.root), "~"))


# -- the story ----------------------------------------------------------------------------------------------

FEATURES = [
    ("F-01", "CSV export of the churn ledger", 3),
    ("F-02", "Retry failed webhook deliveries", 3),
    ("F-03", "Rate-limit the public search endpoint", 3),
    ("F-04", "Nightly cleanup of expired sessions", 2),
    ("F-05", "Audit log for admin actions", 3),
    ("F-06", "Paginate the orders API", 3),
    ("F-07", "Email digest of failed jobs", 3),
    ("F-08", "Feature flags from environment", 3),
    ("F-09", "Import customers from CSV", 4),
    ("F-10", "Health endpoint with dependency checks", 3),
]
LATER = [("F-11", "Multi-currency invoices", 3), ("F-12", "SSO with the company IdP", 8)]

# The simulated truth behind the readings typed below: per subscription dollar glm does GLM_ADVANTAGE x the work of
# codex, and the second time a feature is done it costs LEARNING x the capacity (the spec and the code are known).
GLM_ADVANTAGE = 1.25
LEARNING = 0.85
CODEX_PERCENT_PER_POINT = 2.2  # 5-hour percent one point of size takes codex, before noise
CODEX_WEEKLY_PER_5H = 0.12  # weekly percent per 5-hour percent (what prices a 5-hour percent, docs/statistics.md)
# The default plans' prices (gittracker/plans.py): codex plus $20 a month, glm lite $18 a month for 120 prompts
# per 5 hours. Dollars per 5-hour percent of codex, and per glm prompt, as preview converts them.
CODEX_USD_PER_PERCENT = CODEX_WEEKLY_PER_5H * 20.0 * 7 / DAYS_PER_MONTH / 100
GLM_USD_PER_PROMPT = 18.0 * 5 / 24 / DAYS_PER_MONTH / 120
GLM_PROMPTS_PER_POINT = CODEX_PERCENT_PER_POINT * CODEX_USD_PER_PERCENT / GLM_USD_PER_PROMPT / GLM_ADVANTAGE


def spec_text(feature: str, title: str) -> str:
    return f"# {feature}: {title}\n\nDone when the tests in tests/{feature.lower()}/ pass and the change is reviewed.\n"


def build(root: Path) -> str:
    walk = Walkthrough(root)
    rng = random.Random(16)
    (root / "shop").mkdir()
    (root / "home").mkdir()
    walk.quietly("git init -q -b main")
    walk.quietly(f"git config tracker.machine {MACHINE}")
    walk.say(INTRO.format(advantage=GLM_ADVANTAGE, learning=round(100 * (1 - LEARNING))))
    walk.show("git tracker init")
    (root / "shop" / "README.md").write_text("# shop\n")
    settings = root / "shop" / ".git-tracker.toml"
    settings.write_text(settings.read_text().replace('baseline = ""', 'baseline = "codex"', 1))
    walk.say(BASELINE)
    walk.quietly("git add README.md")
    walk.quietly("git commit -q -m 'initial commit'")

    walk.say(BANK_INTRO)
    (root / "shop" / "specs").mkdir()
    for feature, title, _ in [*FEATURES, *LATER]:
        (root / "shop" / "specs" / f"{feature}.md").write_text(spec_text(feature, title))
    walk.show(
        *(
            f"git tracker bank add {feature} --title {shlex.quote(title)} --spec specs/{feature}.md --size {size}"
            for feature, title, size in FEATURES
        )
    )
    walk.say(BANK_LIST)
    walk.show("git tracker bank list")

    walk.say(ASSIGN)
    walk.show("git tracker assign --seed 7")
    walk.say(REASSIGN)
    walk.show("git tracker assign --seed 8", expect=1)

    walk.say(WORK_INTRO)
    plan = _plan_of(walk)
    readings = {"codex": 4.0, "glm": 10}
    weekly = 12.0
    first_feature, out_of_order = FEATURES[0][0], plan[FEATURES[0][0]][1]
    reading = f"--prompts {readings['glm']:g}" if out_of_order == "glm" else f"--used 4 --weekly {weekly:g}"
    walk.say(SLIP.format(feature=first_feature, provider=out_of_order, first=plan[first_feature][0]))
    walk.show(
        f"git tracker start {out_of_order} {reading} --feature {first_feature}", f"git tracker undo {out_of_order}"
    )
    blocks: list[list[str]] = []
    for feature, _, size in FEATURES:
        hardness = size * rng.lognormvariate(0, 0.1)
        for period, provider in enumerate(plan[feature]):
            commands = _one_window(walk, rng, feature, provider, period, hardness, readings, weekly)
            weekly = readings.pop("weekly", weekly)
            blocks.append(commands)
        walk.later(60 * 3)
    first, rest = blocks[:2], blocks[2:]
    walk.say(FIRST_FEATURE.format(feature=FEATURES[0][0]))
    walk.say("```console\n" + "\n".join(line for block in first for line in block) + "\n```")
    walk.say(OTHER_FEATURES)
    walk.say(
        "<details><summary>The other 18 windows, command by command</summary>\n\n```console\n"
        + "\n".join(line for block in rest for line in block)
        + "\n```\n\n</details>"
    )

    walk.say(PREVIEW)
    walk.show("git tracker preview")

    walk.say(BLOCKED)
    walk.show(
        *(
            f"git tracker bank add {feature} --title {shlex.quote(title)} --spec specs/{feature}.md --size {size}"
            for feature, title, size in LATER
        ),
        *(f"git tracker bank status {feature} blocked-capacity" for feature, _, _ in LATER),
    )
    walk.say(DECIDE)
    walk.show("git tracker decide")
    walk.say(
        reading_of(
            json.loads(walk.run("git tracker preview --json")), json.loads(walk.run("git tracker decide --json"))
        )
    )
    walk.say(OUTRO)
    wait_for_flushers(root / "shop")
    return "\n".join(walk.parts)


def _plan_of(walk: Walkthrough) -> dict[str, tuple[str, str]]:
    listing = json.loads(walk.run("git tracker bank list --json"))
    return {item["feature_id"]: tuple(item["providers"]) for item in listing["features"]}


def _one_window(
    walk: Walkthrough,
    rng: random.Random,
    feature: str,
    provider: str,
    period: int,
    hardness: float,
    readings: dict[str, float],
    weekly: float,
) -> list[str]:
    """One period of one feature: start, two commits, end, complete; the commands and their outputs."""
    lines: list[str] = []

    def step(command: str) -> None:
        lines.append(f"$ {command}")
        output = walk.run(command)
        if output:
            lines.append(output)

    learned = LEARNING if period == 1 else 1.0
    noise = rng.lognormvariate(0, 0.08)
    if provider == "glm":
        before = int(readings["glm"])
        used = max(1, round(hardness * GLM_PROMPTS_PER_POINT * learned * noise))
        step(f"git tracker start glm --prompts {before} --feature {feature}")
        after_reading = f"--prompts {before + used}"
        readings["glm"] = before + used
    else:
        before_pct = readings["codex"]
        used_pct = round(hardness * CODEX_PERCENT_PER_POINT * learned * noise, 1)
        step(f"git tracker start codex --used {before_pct:g} --weekly {weekly:g} --feature {feature}")
        week_after = round(weekly + used_pct * CODEX_WEEKLY_PER_5H, 1)
        after_reading = f"--used {before_pct + used_pct:g} --weekly {week_after:g}"
        readings["codex"] = round(before_pct + used_pct, 1)
        readings["weekly"] = week_after
    for number in (1, 2):
        walk.later(rng.randint(15, 40))
        path = walk.root / "shop" / "src" / f"{feature.lower()}_{provider}_{number}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(f"step_{i} = {rng.randint(0, 99)}\n" for i in range(rng.randint(5, 40))))
        walk.quietly("git add -A")
        step(f"git commit -q -m '{feature}: step {number} ({provider})'")
    walk.later(5)
    step(f"git tracker end {provider} {after_reading}")
    quality = round(min(1.0, rng.uniform(0.8, 0.95)), 2)
    step(f"git tracker complete --outcome shipped --quality {quality:g}")
    walk.later(rng.randint(10, 30))
    return lines


INTRO = """\
<!-- Generated by `python docs/generate.py experiment` from a real run: edit the script, not this file. -->
# A worked experiment: from an empty task bank to a decision

This page follows one team through a whole experiment with `git tracker`: they fill a task bank with features of
comparable size, let `assign` decide which provider does each feature first, do every feature twice (once with
each provider, in the planned order), read the comparison in `preview`, and ask `decide` whether to buy a seat.

Every command below ran for real, in a throwaway repository, and its output is shown exactly as it was printed
(`docs/generate.py` made this page, and CI checks that it still prints the same). Two things were simulated:
the clock, and the capacity readings typed after `--used`, `--weekly` and `--prompts`. Behind those readings, glm
does {advantage:g} times the work of codex per subscription dollar, and the second time a feature is done it takes
{learning:g} % less capacity (a learning effect). The statistics are explained in [statistics.md](statistics.md).

Start by setting up the repository:
"""

BASELINE = """\
Codex is the seat the team has today, so it is the baseline the others are compared with: in `.git-tracker.toml`,
under `[stats]`, they set `baseline = "codex"` (without it, the baseline is the provider with the most windows).
"""

BANK_INTRO = """\
## 1. Fill the task bank

A fair comparison needs tasks of about the same size. Each feature gets an id, a title, a spec (a text file; its
text is stored in the ledger, so it travels with `git tracker sync`) and a size in the unit you estimate in
(points here). `bank add` warns when a size is far from the bank's median (less than half or more than twice it).
"""

BANK_LIST = """\
`bank list` shows the bank; every feature starts `ready`:
"""

ASSIGN = """\
## 2. Plan the order

If every feature were done first with codex, codex would always meet the problem fresh and glm would always get
the easier second pass: the learning effect would look like a glm advantage. `assign` gives each feature an order,
codex first (AB) or glm first (BA), exactly half each, drawn from a seed so the same seed always gives the same
plan:
"""

REASSIGN = """\
The plan is recorded in the ledger. Asking for another one is refused, so the order cannot be changed quietly
after the results start coming in (`--replan WHY` replaces it and records why):
"""

WORK_INTRO = """\
## 3. Do the work

Each feature is done twice, once per provider, in the plan's order. A window is opened with `start --feature`,
the work is committed as usual (the hooks stamp each commit), the window is closed with the capacity reading
after it, and `complete` records the outcome. `start` warns when the provider is not the one the plan has next.
"""

SLIP = """\
A slip first: the plan has {first} first on {feature}, and {provider} is started on it. `start` says so (the window
still opens: the plan guides, it does not lock), and `undo` takes the window back:
"""

FIRST_FEATURE = """\
Then {feature} as planned, both of its windows:
"""

OTHER_FEATURES = """\
The other nine features go the same way, each in its planned order:
"""

PREVIEW = """\
## 4. Read the comparison

`preview` now compares the two providers feature by feature (the same feature done by both is a matched pair, in
subscription dollars since codex counts percents and glm prompts), and, because the orders were planned, with the
crossover analysis that takes the learning effect out and shows it separately:
"""

BLOCKED = """\
## 5. Say what is waiting for capacity

Two more features are ready, but no seat has capacity left for them this week. The bank records that, and
`decide` reads it (gate G2):
"""

DECIDE = """\
## 6. Decide

`decide` prints each gate with the numbers behind it, and the verdict:
"""

OUTRO = """\
What each gate needs is in [statistics.md](statistics.md#the-gates-of-decide); the commands are in
[commands.md](commands.md), and their `--json` shapes in [json.md](json.md).
"""


def reading_of(preview: dict[str, Any], decision: dict[str, Any]) -> str:
    """The closing words, read from ``preview --json`` and ``decide --json`` of the run: they follow the figures."""
    crossover = preview["experiment"]["crossover"]
    a, b = crossover["provider"], crossover["versus"]
    ratio, (low, high) = crossover["ratio"], crossover["ci"]
    ahead = b if high < 1 else a if low > 1 else None
    period = crossover["period"]
    gates = decision["gates"]
    lines = [
        f"How to read it: the crossover puts {a}'s work per dollar at {ratio:.3g} times {b}'s (95 % interval "
        f"{low:.3g} to {high:.3g}): "
        + (f"{ahead} is ahead, and the interval says by how much." if ahead else "too close to call yet.")
        + f" The period effect, {period['ratio']:.3g}, says the second attempt at a feature was "
        + ("more" if period["ratio"] < 1 else "less")
        + " efficient than the first: the learning the plan keeps out of the provider comparison.",
        "",
        "G2 " + ("holds: " if gates["G2"]["pass"] else "does not hold: ") + gates["G2"]["detail"] + ".",
        "",
        _g1_words(gates["G1"]),
        "",
        f"The verdict: {decision['verdict']}.",
    ]
    return "\n".join(_wrapped(line) for line in lines) + "\n"


def _g1_words(g1: dict[str, Any]) -> str:
    if g1["pass"]:
        return f"G1 holds ({g1['detail']})."
    fails = [
        f"{provider} as of its last window: {'; '.join(result['as_of'][-1]['failed'])}"
        for provider, result in g1["providers"].items()
        if result["as_of"] and result["as_of"][-1]["failed"]
    ]
    return (
        "G1 does not hold yet: " + "; and ".join(fails) + ". G1 reads the power of the window-by-window "
        "comparison in preview's table, not the experiment's: it asks that the providers' own figures be sure "
        "enough, and preview says how many windows per arm 80 % power needs. More features, done the same planned "
        "way, move it."
    )


def _wrapped(line: str, width: int = 112) -> str:
    return "\n".join(textwrap.wrap(line, width)) if line else line


# -- the report's screenshot --------------------------------------------------------------------------------

REPORT_MD = DOCS / "report.md"
SCREENSHOT = DOCS / "images" / "report-demo.png"
SCREENSHOT_WIDTH = 1280  # CSS pixels, at device scale 1: one image pixel each
SCREENSHOT_BUDGET = 400_000  # bytes: the top of the page fits well under it
SCREENSHOT_SEED = 7  # the demo's default
# The morning after the demo's three days: what "now" is for everything the demo and its report stamp.
SCREENSHOT_NOW = datetime(2026, 6, 4, 9, 0, tzinfo=UTC)
MIN_INK = 0.02  # an image with fewer pixels than this off its commonest colour (the page's background) is blank
MIN_COLOURS = 16  # the charts' providers, text antialiasing: a drawn page has far more
BLOCK_BEGIN = "<!-- Made by `python docs/generate.py report`: edit the script, not this block. -->"
BLOCK_END = "<!-- End of the generated screenshot. -->"
IMAGE_LINK = re.compile(r"!\[([^\]]+)\]\(images/report-demo\.png\)")

# Runs in the page once painted: where the first row of charts ends (the screenshot stops a little below it), the
# verdict and the titles of the charts in that row (the image's alt text says what it shows).
TOP_OF_PAGE = """
(() => {
  const figures = Array.from(document.querySelectorAll('.charts figure'));
  if (!figures.length) return null;
  const top = figures[0].getBoundingClientRect().top;
  const row = figures.filter((figure) => Math.abs(figure.getBoundingClientRect().top - top) < 1);
  const bottom = Math.max(...row.map((figure) => figure.getBoundingClientRect().bottom)) + window.scrollY;
  const verdict = document.querySelector('#verdict strong');
  return {
    bottom: Math.ceil(bottom) + 16,
    verdict: verdict ? verdict.textContent.trim() : '',
    charts: row.map((figure) => (figure.querySelector('h3') || figure).textContent.trim()),
  };
})()
"""


@dataclass(frozen=True)
class Shown:
    """What the screenshot holds, read from the page: how far down it reaches, the verdict, the charts' titles."""

    height: int
    verdict: str
    charts: tuple[str, ...]


def _harness_on_path() -> None:
    """tests/browser.py (the headless Chromium the report's acceptance test drives) and tests/pngpixels.py are
    imported from this checkout's tests/ folder: put the checkout first on the path."""
    root = str(DOCS.parent)
    if root not in sys.path:
        sys.path.insert(0, root)


def make_screenshot(root: Path) -> tuple[bytes, Shown]:
    """Build the demo (default seed, clock pinned), then screenshot the top of its report in headless Chromium."""
    (root / "home").mkdir()
    walk = Walkthrough(root, clock=SCREENSHOT_NOW)
    demo = root / "demo"
    done = subprocess.run(
        ["git", "tracker", "demo", str(demo), "--seed", str(SCREENSHOT_SEED)],
        cwd=root,
        env=walk.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"docs/generate.py: `git tracker demo` exited {done.returncode}:\n{done.stderr}")
    try:
        return _screenshot(demo / "git-tracker-report.html", root / "browser")
    finally:
        wait_for_flushers(demo)


def _screenshot(page: Path, folder: Path) -> tuple[bytes, Shown]:
    """The page at 1280 px in the light scheme, from its top to a little below its first row of charts: a clip of
    what Chromium draws, as Chromium encodes it."""
    _harness_on_path()
    from tests import browser

    program = browser.executable()
    if program is None:
        raise SystemExit(f"docs/generate.py report: expected chromium to take the screenshot ({browser.INSTALL_HINT})")
    try:
        with browser.Browser(program, folder).start() as chromium:
            target = chromium.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = chromium.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            chromium.call("Page.enable", session=session)
            metrics = {"width": SCREENSHOT_WIDTH, "height": 800, "deviceScaleFactor": 1, "mobile": False}
            chromium.call("Emulation.setDeviceMetricsOverride", metrics, session=session)
            scheme = {"name": "prefers-color-scheme", "value": "light"}
            chromium.call("Emulation.setEmulatedMedia", {"features": [scheme]}, session=session)
            chromium.call("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
            chromium.events_until(session, "Page.loadEventFired", time.monotonic() + browser.CALL_TIMEOUT)
            chromium.evaluate(browser.PAINTED, session, await_promise=True)
            found = chromium.evaluate(TOP_OF_PAGE, session)
            if not found:
                raise SystemExit(f"docs/generate.py report: expected charts on {page}, found none")
            shown = Shown(int(found["bottom"]), str(found["verdict"]), tuple(found["charts"]))
            clip = {"x": 0, "y": 0, "width": SCREENSHOT_WIDTH, "height": shown.height, "scale": 1}
            params = {"format": "png", "clip": clip, "captureBeyondViewport": True}
            data = chromium.call("Page.captureScreenshot", params, session=session)["data"]
    except browser.BrowserError as error:
        raise SystemExit(f"docs/generate.py report: {error}") from None
    return base64.b64decode(data), shown


def screenshot_block(shown: Shown) -> str:
    """The markdown that shows the image in docs/report.md: an alt text saying what is on it (read from the page),
    and how the image was made."""
    verdict = shown.verdict.removeprefix("Verdict:").strip()
    charts = " and ".join(f'"{title}"' for title in shown.charts)
    alt = (
        f"The top of the demo's report in a {SCREENSHOT_WIDTH} px wide window: the verdict, {verdict}, with its "
        f"three gates; the efficiency table of codex, claude and glm; and the first charts, {charts}"
    )
    image = f"![{alt.replace('[', '(').replace(']', ')')}](images/report-demo.png)"
    caption = (
        f"*The top of the page `git tracker demo` writes (default seed), as headless Chromium draws it "
        f"{SCREENSHOT_WIDTH} px wide in the light scheme. Generated, not made by hand: `python docs/generate.py "
        "report` builds the demo with its clock pinned, takes this screenshot with the browser harness of the "
        "report's tests (tests/browser.py) and writes this block; run it again to remake both.*"
    )
    return "\n".join([BLOCK_BEGIN, _wrapped(image), "", _wrapped(caption), BLOCK_END])


def with_block(markdown: str, block: str) -> str:
    """docs/report.md with the generated block in place of the old one (or of the placeholder left for it)."""
    if BLOCK_BEGIN in markdown and BLOCK_END in markdown:
        before, rest = markdown.split(BLOCK_BEGIN, 1)
        return before + block + rest.split(BLOCK_END, 1)[1]
    placeholder = re.compile(r"<!--\s*SCREENSHOT PLACEHOLDER.*?-->\n> \*\*\[Screenshot[^\n]*\n", re.DOTALL)
    if not placeholder.search(markdown):
        raise SystemExit(f"docs/generate.py report: expected the screenshot block or its placeholder in {REPORT_MD}")
    return placeholder.sub(lambda _: block + "\n", markdown, count=1)


def write_screenshot() -> list[Path]:
    with tempfile.TemporaryDirectory(prefix="git-tracker-docs-") as scratch:
        png, shown = make_screenshot(Path(scratch))
    problems = image_problems(png)
    if problems:
        raise SystemExit("docs/generate.py report: the screenshot " + "; ".join(problems))
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.write_bytes(png)
    REPORT_MD.write_text(with_block(REPORT_MD.read_text(), screenshot_block(shown)))
    return [SCREENSHOT, REPORT_MD]


def image_problems(png: bytes) -> list[str]:
    """What is wrong with a screenshot, one phrase each: it must be a PNG, 1280 px wide, small, and not blank."""
    _harness_on_path()
    from tests import pngpixels
    from tests.browser import ink_of

    problems = [f"is {len(png):,} bytes, over {SCREENSHOT_BUDGET:,}"] if len(png) > SCREENSHOT_BUDGET else []
    try:
        pixels = pngpixels.decode(png)
    except (pngpixels.PngError, zlib.error) as error:
        return [*problems, f"does not parse as a PNG ({error})"]
    height, width, _ = pixels.shape
    if width != SCREENSHOT_WIDTH:
        problems.append(f"is {width} px wide, expected {SCREENSHOT_WIDTH}")
    ink, colours = ink_of(pixels)
    if height < 200 or ink < MIN_INK or colours < MIN_COLOURS:
        problems.append(f"is blank ({height} px tall, {ink:.1%} of it drawn, {colours} colours)")
    return problems


def screenshot_problems(markdown: str, png: bytes | None) -> list[str]:
    """Why docs/report.md and its image are not what `generate.py report` makes, whatever this machine's fonts: the
    block that shows the image, with an alt text and the command that remakes it, and an image that is a PNG 1280 px
    wide, small, and not blank. Pixels are not compared: another machine's Chromium and fonts draw them otherwise."""
    problems = []
    if BLOCK_BEGIN not in markdown or BLOCK_END not in markdown:
        problems.append("docs/report.md has no generated screenshot block")
    else:
        block = " ".join(markdown.split(BLOCK_BEGIN, 1)[1].split(BLOCK_END, 1)[0].split())  # as markdown reads it
        link = IMAGE_LINK.search(block)
        if link is None or len(link.group(1).split()) < 8:
            problems.append("docs/report.md's block does not show images/report-demo.png with an alt text")
        if "python docs/generate.py report" not in block:
            problems.append("docs/report.md's block does not say how the image is made")
    if png is None:
        problems.append(f"{SCREENSHOT.relative_to(DOCS.parent)} does not exist")
    else:
        problems += [f"{SCREENSHOT.relative_to(DOCS.parent)} {problem}" for problem in image_problems(png)]
    return problems


# -- the command ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    name: str
    same: bool
    diff: str


@dataclass(frozen=True)
class Document:
    """A document this script makes: ``write`` makes it and returns the files written; ``check`` says whether the
    committed one is what it would make."""

    write: Callable[[], list[Path]]
    check: Callable[[], Outcome]


def experiment_text() -> str:
    with tempfile.TemporaryDirectory(prefix="git-tracker-docs-") as scratch:
        return build(Path(scratch))


def write_experiment() -> list[Path]:
    (DOCS / "experiment.md").write_text(experiment_text())
    return [DOCS / "experiment.md"]


def check_experiment() -> Outcome:
    made = experiment_text()
    path = DOCS / "experiment.md"
    kept = path.read_text() if path.exists() else ""
    diff = "".join(difflib.unified_diff(kept.splitlines(True), made.splitlines(True), path.name, "generated"))
    return Outcome("experiment", made == kept, diff)


def check_screenshot() -> Outcome:
    png = SCREENSHOT.read_bytes() if SCREENSHOT.exists() else None
    problems = screenshot_problems(REPORT_MD.read_text(), png)
    return Outcome("report", not problems, "".join(f"{problem}\n" for problem in problems))


DOCUMENTS = {
    "experiment": Document(write_experiment, check_experiment),
    "report": Document(write_screenshot, check_screenshot),
}


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("documents", nargs="*", metavar="NAME", help=f"one of {', '.join(DOCUMENTS)} (default: all)")
    parser.add_argument("--check", action="store_true", help="check the committed document; exit 1 if not current")
    args = parser.parse_args(argv)
    unknown = [name for name in args.documents if name not in DOCUMENTS]
    if unknown:
        parser.error(f"expected one of {', '.join(DOCUMENTS)}, got {', '.join(unknown)}")
    status = 0
    for name in args.documents or list(DOCUMENTS):
        if args.check:
            outcome = DOCUMENTS[name].check()
            if not outcome.same:
                sys.stdout.write(outcome.diff)
                print(f"docs/generate.py {name}: not current: run `python docs/generate.py {name}`", file=sys.stderr)
                status = 1
        else:
            for path in DOCUMENTS[name].write():
                print(f"wrote {path.relative_to(DOCS.parent)}")
    return status


if __name__ == "__main__":
    sys.exit(_main())
