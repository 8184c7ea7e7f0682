"""Documents made from real runs (docs/generate.py) still say what the commands print today."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

from tests import browser, pngpixels
from tests.test_pngpixels import encode

ROOT = Path(__file__).resolve().parents[1]


def test_the_experiment_walkthrough_is_what_the_commands_print_today() -> None:
    """docs/experiment.md is the output of its script, run for real: a change to any command it shows (or to the
    statistics behind preview and decide) makes this fail until the document is made again."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "generate.py"), "experiment", "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_the_walkthrough_shows_the_plan_the_crossover_and_a_verdict() -> None:
    """What the page is for, whatever the numbers: every step from an empty bank to decide's verdict is there."""
    text = (ROOT / "docs" / "experiment.md").read_text()
    for step in (
        "$ git tracker bank add F-01",
        "$ git tracker bank list",
        "$ git tracker assign --seed 7",
        "5 AB, 5 BA",
        "warning: codex is out of the plan's order",
        "crossover, codex v glm",
        "period 1 over period 2",
        "$ git tracker bank status F-11 blocked-capacity",
        "G2: PASS - F-11, F-12 are ready and blocked only by capacity",
        "Verdict: ",
    ):
        assert step in text, step


def generator() -> ModuleType:
    """docs/generate.py as a module (docs/ is no package): its checks, called on made-up documents below."""
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def test_report_md_shows_the_generated_screenshot_of_the_demos_report() -> None:
    """docs/report.md shows docs/images/report-demo.png with an alt text and the command that made it; the image is a
    PNG 1280 px wide, under 400 KB, and not blank (pixels are not compared: fonts differ between machines)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "generate.py"), "report", "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def flat_png(width: int, height: int, value: int = 255) -> bytes:
    return encode([[value] * (width * 3)] * height, width, 3, [0] * height)


def test_the_screenshot_check_names_each_way_the_block_or_the_image_can_be_wrong() -> None:
    docs = generator()
    markdown = (ROOT / "docs" / "report.md").read_text()
    png = (ROOT / "docs" / "images" / "report-demo.png").read_bytes()
    assert docs.screenshot_problems(markdown, png) == []
    block = markdown.split(docs.BLOCK_BEGIN, 1)[1].split(docs.BLOCK_END, 1)[0]
    no_alt = re.sub(r"!\[[^\]]+\]", "![]", block)
    unexplained = block.replace("python docs/generate.py", "a script", 1)
    for text, problem in (
        (markdown.replace(docs.BLOCK_BEGIN, ""), "no generated screenshot block"),
        (markdown.replace(block, no_alt), "with an alt text"),
        (markdown.replace(block, unexplained), "how the image is made"),
    ):
        assert [found for found in docs.screenshot_problems(text, png) if problem in found], problem
    drawn = pngpixels.decode(png)
    narrow = encode([list(row) for row in drawn[:300, :640].reshape(300, -1).tolist()], 640, 3, [0] * 300)
    noise = np.random.default_rng(17).integers(0, 256, (110, 1280 * 3)).tolist()
    for image, problem in (
        (None, "does not exist"),
        (b"GIF89a", "does not parse as a PNG"),
        (flat_png(1280, 900), "is blank"),
        (flat_png(1280, 50, 0), "is blank"),
        (narrow, "640 px wide, expected 1280"),
        (encode(noise, 1280, 3, [0] * 110), "over 400,000"),
    ):
        assert [found for found in docs.screenshot_problems(markdown, image) if problem in found], problem


def test_the_screenshot_is_made_from_the_demo_in_a_real_browser(tmp_path: Path) -> None:
    """What `python docs/generate.py report` writes, made here without writing it: the image passes the check, and
    the block read from the page names its verdict and the first row's charts."""
    if browser.executable() is None:
        browser.unavailable(f"chromium is not installed ({browser.INSTALL_HINT})")
    docs = generator()
    png, shown = docs.make_screenshot(tmp_path)
    assert docs.image_problems(png) == []
    assert shown.verdict.startswith("Verdict: ") and len(shown.charts) == 2, shown
    assert shown.charts[0].startswith("Delivered work per subscription dollar")
    markdown = docs.with_block((ROOT / "docs" / "report.md").read_text(), docs.screenshot_block(shown))
    assert docs.screenshot_problems(markdown, png) == []
    assert markdown.count(docs.BLOCK_BEGIN) == 1 and "SCREENSHOT PLACEHOLDER" not in markdown
