"""Time and identifiers.

All timestamps are UTC. ``GIT_TRACKER_NOW`` (ISO-8601) pins the clock for tests and the demo; it is
read on every call so a test can move time between commands. ``local_zone`` is the zone a screen's
clock times are in (Codex renders its reset times in the machine's local zone).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from gittracker.errors import BadInput

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_last_id_ms = 0
_last_id_rand = 0


# Ids carry their time as 48 bits of milliseconds since 1970: no id can stand for a time outside this span.
FIRST = datetime(1970, 1, 1, tzinfo=UTC)
LAST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def now() -> datetime:
    pinned = os.environ.get("GIT_TRACKER_NOW")
    moment = parse_ts(pinned, what="GIT_TRACKER_NOW") if pinned else datetime.now(UTC)
    return require_recordable(moment, "GIT_TRACKER_NOW" if pinned else "the system clock")


def require_recordable(moment: datetime, what: str) -> datetime:
    """A time a record can carry: from 1970 (ids count milliseconds from then) to the year 9999."""
    if not FIRST <= moment <= LAST:
        raise BadInput(f"{what}: expected a time from 1970 to 9999, got {format_ts(moment)}")
    return moment


def epoch_text(seconds: float) -> str:
    """Epoch seconds (a provider's reset time) as a record's time text; ValueError when no record can carry it
    (before 1970, after 9999, or past what the platform converts)."""
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError) as error:
        raise ValueError(seconds) from error
    if not 1970 <= moment.year <= 9999:
        raise ValueError(seconds)
    return format_ts(moment)


def format_ts(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``: sortable as text."""
    moment = moment.astimezone(UTC)
    # Not strftime: its %Y drops leading zeros before the year 1000 on glibc.
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def parse_ts(text: str, what: str = "timestamp") -> datetime:
    """Parse ISO-8601; a value without a zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadInput(f"{what}: expected an ISO-8601 time such as 2026-06-07T16:12:00Z, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-01:00 is past the last representable UTC instant
        raise BadInput(f"{what}: expected an ISO-8601 time before the year 9999, got {text!r}") from None


def new_id(moment: datetime | None = None) -> str:
    """A 26-character ULID: 48 bits of milliseconds then 80 random bits, Crockford base32.

    Ids sort by creation time, and within one process strictly increase even inside one millisecond,
    so the ledger's natural order is the order records were made.
    """
    global _last_id_ms, _last_id_rand
    stamp = require_recordable(moment, "record time") if moment else now()
    ms = _epoch_ms(stamp)
    if ms == _last_id_ms:
        rand = (_last_id_rand + 1) & ((1 << 80) - 1)
    else:
        rand = int.from_bytes(os.urandom(10), "big")
    _last_id_ms, _last_id_rand = ms, rand
    return _encode_ulid((ms << 80) | rand)


def derived_id(moment: datetime, key: str) -> str:
    """A ULID whose 80 "random" bits are a digest of ``key``: the same data always gets the same id.

    Ingested records use it, so reading the same logs again (in this clone or another) writes the same
    ledger path, and the idempotent append adds nothing.
    """
    import hashlib

    ms = _epoch_ms(require_recordable(moment, "record time"))
    digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=10).digest(), "big")
    return _encode_ulid((ms << 80) | digest)


def _epoch_ms(moment: datetime) -> int:
    """Whole milliseconds since 1970, exactly (``timestamp() * 1000`` loses a millisecond to float rounding)."""
    return (moment - FIRST) // timedelta(milliseconds=1)


def _encode_ulid(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def id_time(record_id: str) -> datetime:
    """The creation time encoded in a ULID (used to find a record's sharded path)."""
    value = 0
    for char in record_id:
        value = value * 32 + _CROCKFORD.index(char)
    return datetime.fromtimestamp((value >> 80) / 1000, UTC)


def monotonic_ms() -> float:
    return time.monotonic() * 1000


# --- the local zone ---------------------------------------------------------------------------------

SYSTEM_ZONE_FILE = "/etc/localtime"


def local_zone(configured: str | None = None) -> tzinfo:
    """The zone clock times on this machine's screens are in: ``configured`` (``[tracker] timezone``), else
    ``TZ`` (an IANA name, a leading ``:`` allowed; a POSIX rule such as ``EST5EDT`` falls back to the offset
    the C library derives for now), else the system zone (``/etc/localtime``, with its DST rules), else UTC."""
    from zoneinfo import ZoneInfo

    if configured:
        found = _named_zone(configured)
        if found is None:
            raise BadInput(f"tracker.timezone: expected an IANA zone such as Europe/Berlin or UTC, got {configured!r}")
        return found
    if "TZ" in os.environ:
        name = os.environ["TZ"].removeprefix(":").strip()
        if not name:
            return UTC  # TZ set but empty: the C library's UTC
        return _named_zone(name) or _zone_file(name) or _offset_now()
    try:
        target = os.path.realpath(SYSTEM_ZONE_FILE)
    except OSError:
        return UTC
    key = target.partition("/zoneinfo/")[2]
    if key and _named_zone(key) is not None:
        return ZoneInfo(key)
    return _zone_file(SYSTEM_ZONE_FILE, "localtime") or UTC


def zone_label(zone: tzinfo) -> str:
    """How a zone is named in parse_errors and messages: its IANA key, ``UTC``, or ``UTC+01:00``."""
    key = getattr(zone, "key", None)
    if isinstance(key, str) and key:
        return "UTC" if key in ("UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu") else key
    return zone.tzname(None) or "UTC"


def _named_zone(name: str) -> tzinfo | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name.upper() in ("UTC", "Z", "UTC0", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
        return None


def _zone_file(path: str, key: str | None = None) -> tzinfo | None:
    """A compiled zone file (TZ may name one by path): its full rules, DST included."""
    from zoneinfo import ZoneInfo

    if not path.startswith("/"):
        return None
    try:
        with open(path, "rb") as handle:
            return ZoneInfo.from_file(handle, key=key or path.partition("/zoneinfo/")[2] or path)
    except (OSError, ValueError):
        return None


def _offset_now() -> tzinfo:
    """A TZ that is no zone name (a POSIX rule): the C library's offset for now, as a fixed zone."""
    time.tzset()
    offset = time.localtime(now().timestamp()).tm_gmtoff
    return UTC if not offset else timezone(timedelta(seconds=offset))
