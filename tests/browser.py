"""A real headless Chromium (Debian's `chromium`) looking at an HTML file on disk, driven over the DevTools protocol.

`Browser` starts one chromium with `--remote-debugging-pipe`: the browser reads protocol commands from its fd 3 and
writes replies and events to its fd 4, each message one JSON text ended by a NUL byte. `Browser.look(path, width)`
opens the file in a fresh tab of that width and returns a `Look`: the full-page screenshot (PNG), every console
message and uncaught exception, every request the page made beyond its own document, and each inline <svg> with its
box, how much of it is drawn (from a screenshot of just that box) and the boxes of its labels.

`browser(tmp)` gives a started Browser, or skips the test saying how to install chromium; where CI asks for the
browser (`BROWSER_REQUIRED=1`, which .ci/run sets, or `CI`) it fails the test instead.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

import numpy as np
import pytest

from tests import pngpixels

INSTALL_HINT = "apt-get install chromium"
START_TIMEOUT = 30.0
CALL_TIMEOUT = 30.0
# After the load event: wait until the page has been quiet this long, so requests and messages a script makes
# just after load are seen too.
QUIET_AFTER_LOAD = 0.2
# Below this share of pixels differing from an SVG box's commonest colour the chart counts as blank.
BLANK_INK = 0.001
# Sub-pixel layout: a box may end this far past an edge and still count as inside it (CSS pixels).
EDGE_SLACK = 0.5
# Phones lay a page out with the mobile viewport rules (a page without <meta name=viewport> gets 980 px).
PHONE_WIDTH_BELOW = 600

FLAGS = (
    "--headless",
    "--remote-debugging-pipe",
    "--no-sandbox",  # CI runs as root, where chromium refuses its sandbox
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--hide-scrollbars",
    "--mute-audio",
    "--force-color-profile=srgb",
    # No host name resolves: a page that reaches for the network is seen asking, and nothing leaves the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


class BrowserError(RuntimeError):
    """Chromium could not be started or did not answer."""


def required() -> bool:
    return bool(os.environ.get("BROWSER_REQUIRED") or os.environ.get("CI"))


def unavailable(reason: str) -> NoReturn:
    if required():
        pytest.fail(f"the real browser is required here: {reason}", pytrace=False)
    pytest.skip(reason)


def executable() -> str | None:
    return shutil.which("chromium")


def browser(folder: Path) -> Browser:
    """A started Browser whose profile lives under ``folder``; skips (or, where required, fails) without chromium."""
    program = executable()
    if program is None:
        unavailable(f"chromium is not installed ({INSTALL_HINT})")
    try:
        return Browser(program, folder).start()
    except BrowserError as error:
        unavailable(str(error))


@dataclass(frozen=True)
class Box:
    """A rectangle in CSS pixels, page coordinates (the top left of the document is 0, 0)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    def overlap(self, other: Box) -> float:
        """The area the two boxes share."""
        across = min(self.right, other.right) - max(self.x, other.x)
        down = min(self.bottom, other.bottom) - max(self.y, other.y)
        return across * down if across > 0 and down > 0 else 0.0


@dataclass(frozen=True)
class Message:
    """A console message, an uncaught exception (source "exception") or a browser log entry (source "log/...")."""

    source: str
    level: str
    text: str

    @property
    def is_error(self) -> bool:
        return self.level in ("error", "assert")


@dataclass(frozen=True)
class Request:
    url: str
    resource_type: str


@dataclass(frozen=True)
class Label:
    text: str
    box: Box


@dataclass(frozen=True)
class Chart:
    """An inline <svg>: where it sits, what share of its pixels is drawn, its labels."""

    index: int
    element_id: str
    box: Box
    ink: float  # share of the box's pixels that differ from its commonest colour
    colours: int  # distinct colours in the box
    labels: tuple[Label, ...]

    @property
    def blank(self) -> bool:
        return self.box.width < 1 or self.box.height < 1 or self.ink < BLANK_INK

    def overlapping_labels(self, tolerance: float = 0.5) -> list[tuple[Label, Label]]:
        """Pairs of labels sharing more than ``tolerance`` square CSS pixels."""
        return overlapping(self.labels, tolerance)


@dataclass(frozen=True)
class Table:
    """A <table>: where it sits, and the cells a reader cannot read whole (their box past the window's edge or past an
    ancestor that clips, or their content wider than the cell)."""

    index: int
    element_id: str
    box: Box
    cut_cells: tuple[str, ...]  # each cut cell's text, shortened


@dataclass(frozen=True)
class View:
    """How the page is looked at."""

    width: int  # the window, CSS pixels
    dark: bool  # prefers-color-scheme: dark
    phone: bool  # mobile layout rules (the viewport meta tag counts)
    label_selector: str  # what counts as a chart's label, within each <svg>


@dataclass(frozen=True)
class Look:
    """What a browser showed for one page in one view."""

    url: str
    view: View
    layout_width: float  # the page's CSS viewport width (a phone page without a viewport meta tag lays out at 980)
    content_width: float  # wider than layout_width: the page scrolls sideways
    content_height: float
    screenshot: bytes  # PNG of the full page, one pixel per CSS pixel
    messages: tuple[Message, ...]
    requests: tuple[Request, ...]  # everything the page fetched beyond its own document, data: URLs included
    charts: tuple[Chart, ...]
    tables: tuple[Table, ...] = ()

    @property
    def network_requests(self) -> list[Request]:
        """What the page asked of anything but itself: its requests less the data: URLs it carries inline."""
        return [request for request in self.requests if not request.url.startswith("data:")]

    @property
    def errors(self) -> list[Message]:
        return [message for message in self.messages if message.is_error]

    @property
    def overlapping_labels(self) -> list[tuple[Label, Label]]:
        return [pair for chart in self.charts for pair in chart.overlapping_labels()]

    def problems(self) -> list[str]:
        """Everything the report's acceptance forbids, one line each: `assert look.problems() == []`."""
        where = f"at {self.view.width} px{' dark' if self.view.dark else ''}"
        found = [f"{where}: the page requested {request.url}" for request in self.network_requests]
        found += [f"{where}: {message.source} {message.level}: {message.text}" for message in self.errors]
        if self.layout_width != self.view.width:
            found.append(f"{where}: laid out {self.layout_width:g} px wide (a phone page needs a viewport tag)")
        if self.content_width > self.layout_width:
            found.append(f"{where}: the page is {self.content_width:g} px wide and scrolls sideways")
        for chart in self.charts:
            name = f"chart {chart.index}{f' ({chart.element_id})' if chart.element_id else ''}"
            if chart.blank:
                found.append(f"{where}: {name} is blank")
            found += [f"{where}: in {name} {a.text!r} overlaps {b.text!r}" for a, b in chart.overlapping_labels()]
        for table in self.tables:
            name = f"table {table.index}{f' ({table.element_id})' if table.element_id else ''}"
            if table.box.x < -EDGE_SLACK or table.box.right > self.layout_width + EDGE_SLACK:
                found.append(f"{where}: {name} is {table.box.width:g} px wide, wider than the window")
            if table.cut_cells:
                cut = table.cut_cells
                found.append(f"{where}: in {name} {len(cut)} cell(s) are cut off, the first {cut[0]!r}")
        return found


def overlapping(labels: tuple[Label, ...], tolerance: float = 0.5) -> list[tuple[Label, Label]]:
    """Pairs of labels whose boxes share more than ``tolerance`` square pixels (a sweep along x)."""
    ordered = sorted(labels, key=lambda label: label.box.x)
    pairs = []
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if second.box.x >= first.box.right:
                break
            if first.box.overlap(second.box) > tolerance:
                pairs.append((first, second))
    return pairs


# Runs in the page: each inline <svg>'s box and its labels' boxes, in page coordinates.
MEASURE = """
(selector) => {
  const slack = 0.5;
  // A cell is cut off when its content is wider than it, or it reaches past the window or past an ancestor that
  // clips its overflow (a table in a scrolling box: what lies beyond the box is out of sight).
  const cut = (cell) => {
    const r = cell.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return false;
    if (cell.scrollWidth > cell.clientWidth + 1) return true;
    if (r.left < -slack || r.right > document.documentElement.clientWidth + slack) return true;
    for (let up = cell.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') {
        const clip = up.getBoundingClientRect();
        if (r.left < clip.left - slack || r.right > clip.right + slack) return true;
      }
    }
    return false;
  };
  const box = (element) => {
    const r = element.getBoundingClientRect();
    return {x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height};
  };
  const root = document.documentElement;
  return {
    layoutWidth: root.clientWidth,
    contentWidth: Math.max(root.scrollWidth, document.body ? document.body.scrollWidth : 0),
    contentHeight: Math.max(root.scrollHeight, document.body ? document.body.scrollHeight : 0),
    charts: Array.from(document.querySelectorAll('svg'))
      .filter((svg) => !svg.parentElement.closest('svg'))
      .map((svg) => ({
        id: svg.id || '',
        box: box(svg),
        labels: Array.from(svg.querySelectorAll(selector))
          .map((label) => ({text: (label.textContent || '').trim(), box: box(label)}))
          .filter((label) => label.box.width > 0 && label.box.height > 0),
      })),
    tables: Array.from(document.querySelectorAll('table')).map((table) => ({
      id: table.id || '',
      box: box(table),
      cut: Array.from(table.querySelectorAll('th, td')).filter(cut).map(
        (cell) => (cell.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40)),
    })),
  };
}
"""

# Resolves after two animation frames: what was laid out has been painted.
PAINTED = "new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"


@dataclass
class Browser:
    """One headless chromium; each `look` opens a fresh tab and closes it after."""

    program: str
    folder: Path
    process: subprocess.Popen[bytes] | None = None
    _to_browser: int = -1
    _from_browser: int = -1
    _buffer: bytes = b""
    _next_id: int = 0
    _events: list[dict[str, Any]] = field(default_factory=list)
    started_in: float = 0.0  # seconds from launch to the first answer

    def start(self) -> Browser:
        profile = self.folder / "chromium-profile"
        profile.mkdir(parents=True, exist_ok=True)
        commands_read, self._to_browser = os.pipe()
        self._from_browser, replies_write = os.pipe()
        began = time.monotonic()
        log = (self.folder / "chromium.log").open("wb")
        # The pipe ends must sit at fds 3 and 4 in chromium: a shell puts them there and execs the launcher (bash, as
        # dash reads only one-digit fd numbers in a redirection).
        self.process = subprocess.Popen(
            [
                "/bin/bash",
                "-c",
                f'exec "$@" 3<&{commands_read} 4>&{replies_write}',
                "bash",
                self.program,
                *FLAGS,
                f"--user-data-dir={profile}",
            ],
            pass_fds=(commands_read, replies_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=own_home(profile),
            start_new_session=True,
        )
        log.close()
        os.close(commands_read)
        os.close(replies_write)
        try:
            self.call("Browser.getVersion", timeout=START_TIMEOUT)
        except BrowserError as error:
            self.close()
            raise BrowserError(f"chromium did not start: {error}; {self.log_tail()}") from None
        self.started_in = time.monotonic() - began
        return self

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                self.send("Browser.close")
                process.wait(timeout=10)
            except (BrowserError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for fd in (self._to_browser, self._from_browser):
            if fd >= 0:
                os.close(fd)
        self._to_browser = self._from_browser = -1

    def log_tail(self, lines: int = 5) -> str:
        log = self.folder / "chromium.log"
        text = log.read_text(errors="replace").splitlines() if log.exists() else []
        return "chromium said: " + (" | ".join(text[-lines:]) or "nothing")

    # The protocol: commands carry an id, the reply carries it back; everything else is an event.

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._to_browser, data) :]
        except BrokenPipeError:
            raise BrowserError("chromium closed the pipe") from None
        return self._next_id

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = CALL_TIMEOUT,
    ) -> dict[str, Any]:
        wanted = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(deadline)
            if message is None:
                raise BrowserError(f"no answer to {method} in {timeout:.0f} s")
            if message.get("id") == wanted:
                if "error" in message:
                    raise BrowserError(f"{method} failed: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self._events.append(message)

    def receive(self, deadline: float) -> dict[str, Any] | None:
        """The next message, or None when none came before ``deadline``."""
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                return None
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("chromium closed the pipe")
            self._buffer += chunk
        text, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(text)
        return message

    def events_until(self, session: str, method: str, deadline: float) -> list[dict[str, Any]]:
        """The events of ``session`` up to and including the first ``method`` event (an error if none by
        ``deadline``)."""
        seen = self._take_events(session)
        while not any(event.get("method") == method for event in seen):
            message = self.receive(deadline)
            if message is None:
                raise BrowserError(f"no {method} before the deadline")
            self._file(message, session, seen)
        return seen

    def events_until_quiet(self, session: str, quiet: float, deadline: float) -> list[dict[str, Any]]:
        """The events of ``session`` until none has come for ``quiet`` seconds (or ``deadline`` passed)."""
        seen = self._take_events(session)
        while (message := self.receive(min(deadline, time.monotonic() + quiet))) is not None:
            self._file(message, session, seen)
        return seen

    def _take_events(self, session: str) -> list[dict[str, Any]]:
        mine = [event for event in self._events if event.get("sessionId") == session]
        self._events = [event for event in self._events if event.get("sessionId") != session]
        return mine

    def _file(self, message: dict[str, Any], session: str, seen: list[dict[str, Any]]) -> None:
        (seen if message.get("sessionId") == session else self._events).append(message)

    # Looking at a page.

    def look(
        self,
        page: Path,
        width: int,
        *,
        dark: bool = False,
        phone: bool | None = None,
        label_selector: str = "text",
        timeout: float = 30.0,
    ) -> Look:
        """Open ``page`` in a fresh tab ``width`` CSS pixels wide and report what it showed. ``dark`` asks for the
        dark colour scheme; ``phone`` lays out as a phone does (by default below 600 px); ``label_selector`` picks
        a chart's labels (matplotlib writes text as paths unless svg.fonttype is "none": then "g[id^=text_]")."""
        view = View(width, dark, width < PHONE_WIDTH_BELOW if phone is None else phone, label_selector)
        deadline = time.monotonic() + timeout
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            return self._look(page.resolve().as_uri(), view, session, deadline)
        finally:
            self.call("Target.closeTarget", {"targetId": target})
            self._events = [event for event in self._events if event.get("sessionId") != session]

    def _look(self, url: str, view: View, session: str, deadline: float) -> Look:
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=session)
        metrics = {"width": view.width, "height": 800, "deviceScaleFactor": 1, "mobile": view.phone}
        self.call("Emulation.setDeviceMetricsOverride", metrics, session=session)
        scheme = {"name": "prefers-color-scheme", "value": "dark" if view.dark else "light"}
        self.call("Emulation.setEmulatedMedia", {"features": [scheme]}, session=session)
        self.call("Page.navigate", {"url": url}, session=session)
        seen = self.events_until(session, "Page.loadEventFired", deadline)
        self.evaluate(PAINTED, session, await_promise=True)
        seen += self.events_until_quiet(session, QUIET_AFTER_LOAD, deadline)
        measured = self.evaluate(f"({MEASURE})({json.dumps(view.label_selector)})", session)
        whole = Box(0, 0, max(measured["contentWidth"], view.width), measured["contentHeight"])
        return Look(
            url=url,
            view=view,
            layout_width=measured["layoutWidth"],
            content_width=measured["contentWidth"],
            content_height=measured["contentHeight"],
            screenshot=self.screenshot(session, whole),
            messages=tuple(messages(seen)),
            requests=tuple(requests(seen, url)),
            charts=tuple(self._chart(index, found, session) for index, found in enumerate(measured["charts"])),
            tables=tuple(
                Table(index, found["id"], Box(**found["box"]), tuple(found["cut"]))
                for index, found in enumerate(measured["tables"])
            ),
        )

    def evaluate(self, expression: str, session: str, await_promise: bool = False) -> Any:
        params = {"expression": expression, "returnByValue": True, "awaitPromise": await_promise}
        reply = self.call("Runtime.evaluate", params, session=session)
        if "exceptionDetails" in reply:
            raise BrowserError(f"the harness's script failed in the page: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def screenshot(self, session: str, box: Box) -> bytes:
        clip = {"x": box.x, "y": box.y, "width": box.width, "height": box.height, "scale": 1}
        params = {"format": "png", "clip": clip, "captureBeyondViewport": True, "optimizeForSpeed": True}
        return base64.b64decode(self.call("Page.captureScreenshot", params, session=session)["data"])

    def _chart(self, index: int, found: dict[str, Any], session: str) -> Chart:
        box = Box(**found["box"])
        labels = tuple(Label(label["text"], Box(**label["box"])) for label in found["labels"])
        ink, colours = 0.0, 0
        if box.width >= 1 and box.height >= 1:
            ink, colours = ink_of(pngpixels.decode(self.screenshot(session, box)))
        return Chart(index, found["id"], box, ink, colours, labels)


def own_home(profile: Path) -> dict[str, str]:
    """The environment with chromium's home, config and caches inside its profile, whoever started it (a module's
    browser starts before the test's hermetic fixture swaps HOME)."""
    places = {"HOME": profile, "XDG_CONFIG_HOME": profile / "config", "XDG_CACHE_HOME": profile / "cache"}
    return {**os.environ, **{key: str(place) for key, place in places.items()}}


def ink_of(pixels: pngpixels.Pixels) -> tuple[float, int]:
    """The share of pixels that differ from the commonest colour, and how many colours there are."""
    flat = pixels.reshape(-1, pixels.shape[-1])
    if len(flat) == 0:
        return 0.0, 0
    keys = np.zeros(len(flat), dtype=np.uint64)
    for channel in range(flat.shape[1]):
        keys = (keys << np.uint64(8)) | flat[:, channel].astype(np.uint64)
    _values, counts = np.unique(keys, return_counts=True)
    return 1.0 - float(counts.max()) / len(flat), len(counts)


def messages(events: list[dict[str, Any]]) -> Iterator[Message]:
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", []))
            yield Message("console", params.get("type", ""), text)
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "")
            yield Message("exception", "error", text)
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            yield Message(f"log/{entry.get('source', '')}", entry.get("level", ""), entry.get("text", ""))


def requests(events: list[dict[str, Any]], page_url: str) -> Iterator[Request]:
    for event in events:
        if event.get("method") == "Network.requestWillBeSent":
            request = event["params"]["request"]
            if request["url"] != page_url:
                yield Request(request["url"], event["params"].get("type", ""))
