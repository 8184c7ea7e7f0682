"""Property tests for the set-up files git-tracker parses: ``install.json`` and a shared folder's registry.

Whatever bytes are there, reading gives a record or one clear error (exit 2), never an internal error;
a record written is read back equal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gittracker.errors import BadInput
from gittracker.hookfolder import ABSENT, HOOK_NAMES, KINDS, ORIGINALS, REGISTRY_NAME, FolderRecord, Registry
from gittracker.installrecord import STATES, DamagedRecord, FileSnapshot, InstallRecord

COMMON, TOP = Path("/work/repo/.git"), Path("/work/repo")
WHERE = COMMON / "tracker" / "install.json"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
names = st.text(max_size=12)
snapshots = st.one_of(
    st.just(FileSnapshot(known=False)),
    st.just(FileSnapshot(known=True, existed=False)),
    st.binary(max_size=64).map(lambda data: FileSnapshot(known=True, existed=True, data=data)),
)
folders = st.builds(
    FolderRecord,
    kind=st.sampled_from(KINDS),
    created_dirs=st.lists(names, max_size=2),
    originals=st.dictionaries(st.sampled_from(HOOK_NAMES), st.sampled_from(ORIGINALS)),
    moved=st.lists(st.sampled_from(HOOK_NAMES), max_size=2, unique=True),
)
records = st.builds(
    InstallRecord,
    state=st.sampled_from(STATES),
    config=snapshots,
    had_rewrite_ref=st.booleans(),
    exclude=snapshots,
    exclude_pattern=names,
    had_exclude_pattern=st.booleans(),
    info_dir_existed=st.booleans(),
    settings_path=names,
    settings_existed=st.booleans(),
    settings_sha256=st.none() | st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    notes_ref_existed=st.booleans(),
    pre_commit=st.booleans(),
    hook_folders=st.dictionaries(names, folders, max_size=2),
    rewrite_mode_previous=st.none() | st.lists(names, max_size=2),
)


def parse(raw: bytes) -> InstallRecord | None:
    try:
        return InstallRecord.parse(raw, WHERE, COMMON, TOP)
    except DamagedRecord as error:
        assert str(WHERE) in str(error) and "git tracker doctor --fix" in str(error)
        assert "\n" not in str(error)
        return None


@given(records)
def test_a_record_reads_back_equal(record: InstallRecord) -> None:
    assert parse(record.to_json().encode()) == record


@given(st.binary(max_size=200))
def test_any_bytes_are_a_record_or_one_clear_error(raw: bytes) -> None:
    parse(raw)


@given(records, st.data())
def test_a_damaged_field_is_one_clear_error(record: InstallRecord, data: st.DataObject) -> None:
    """Every field of a real record replaced by any JSON value, or removed."""
    document: dict[str, Any] = json.loads(record.to_json())
    key = data.draw(st.sampled_from(sorted(document)))
    if data.draw(st.booleans()):
        del document[key]
    else:
        document[key] = data.draw(json_values)
    parse(json.dumps(document).encode())


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "version",
                "hooks",
                "legacy",
                "config_added",
                "config_previous",
                "settings_file",
                "excluded",
                "created_dirs",
                "notes_ref_created",
            ]
        ),
        json_values,
    )
)
def test_any_version_1_shaped_document_is_a_record_or_one_clear_error(document: dict[str, Any]) -> None:
    parse(json.dumps({**document, "version": 1}).encode())


def test_a_version_1_record_is_converted() -> None:
    hooks = COMMON / "hooks"
    document = {
        "version": 1,
        "hooks": [str(hooks / "post-commit"), str(hooks / "post-rewrite")],
        "legacy": [str(hooks / "post-commit.pre-tracker")],
        "config_added": [["notes.rewriteRef", "refs/notes/tracker"]],
        "config_previous": {"notes.rewriteMode": ["concatenate"]},
        "settings_file": None,
        "excluded": "/.git-tracker.toml",
        "notes_ref_created": "a" * 40,
    }
    record = parse(json.dumps(document).encode())
    assert record is not None
    assert record.state == "complete" and not record.config.known and not record.had_rewrite_ref
    assert record.settings_existed and record.rewrite_mode_previous == ["concatenate"]
    folder = record.hook_folders[str(hooks)]
    assert folder.kind == "private" and folder.moved == ["post-commit"]
    assert folder.originals == {"post-commit": "user", "post-rewrite": ABSENT}


@given(st.binary(max_size=200))
def test_any_registry_bytes_are_a_registry_or_one_clear_error(tmp_path_factory: Any, raw: bytes) -> None:
    folder = tmp_path_factory.mktemp("hooks")
    (folder / REGISTRY_NAME).write_bytes(raw)
    try:
        Registry.load(folder)
    except BadInput as error:
        assert REGISTRY_NAME in str(error) and "\n" not in str(error)
