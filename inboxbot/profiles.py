"""The seed organisations' profiles in config/profiles/: find one, and rewrite it for the demo.

A profile is an ordinary inboxbot config written from one organisation's privacy policy. The demo
keeps everything that describes the organisation (identity, rights, authority, verification,
marketing targets) and swaps what touches the outside world for files in the demo folder: the
mailboxes become one Maildir, the SMTP transport a folder, and every marketing system a file
target, so nothing is sent anywhere.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inboxbot.config import REPO_ROOT
from inboxbot.errors import ConfigError

PROFILES_DIR = REPO_ROOT / "config" / "profiles"

# Tables the demo replaces: they name servers, credentials or paths on the real host.
_REPLACED = ("mailbox", "transport", "marketing", "store", "worker")


def profile_names(folder: Path = PROFILES_DIR) -> list[str]:
    """The profiles on offer, by file name without `.toml`."""
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.toml"))


def profile_path(name: str, folder: Path = PROFILES_DIR) -> Path:
    """The file of profile `name`; a ConfigError listing the names when there is none."""
    names = profile_names(folder)
    if name not in names:
        offered = ", ".join(names) if names else f"none (no profiles in {folder})"
        raise ConfigError(f"unknown profile {name!r}; choose one of: {offered}")
    return folder / f"{name}.toml"


def read_profile(name: str, folder: Path = PROFILES_DIR) -> dict[str, Any]:
    """The profile as parsed TOML (not yet validated: secrets are not read here)."""
    path = profile_path(name, folder)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def demo_profile(data: Mapping[str, Any], *, mailbox: str = "mailbox", outbox: str = "outbox") -> dict[str, Any]:
    """`data` with one Maildir, the folder transport, file marketing targets and state in `.`.

    The Maildir takes the name of the profile's first mailbox, without its intents filter: the
    demo mailbox plays every address at once.
    """
    out = {k: v for k, v in data.items() if k not in _REPLACED}
    boxes = data.get("mailbox") or [{}]
    first = boxes[0] if isinstance(boxes, list) and isinstance(boxes[0], dict) else {}
    out["mailbox"] = [{"name": str(first.get("name", "privacy")), "kind": "maildir", "path": mailbox}]
    out["transport"] = {"kind": "folder", "path": outbox}
    targets = data.get("marketing", [])
    if isinstance(targets, list) and targets:
        out["marketing"] = [
            {"kind": "file", "name": str(t.get("name", t.get("kind", f"target{i}"))),
             "path": f"marketing-{t.get('name', t.get('kind', i))}.csv"}
            for i, t in enumerate(targets) if isinstance(t, dict)
        ]
    out["store"] = {"state_dir": "."}
    return out


def to_toml(data: Mapping[str, Any]) -> str:
    """Write a config dict back as TOML: scalars, lists of scalars, tables, arrays of tables.

    Enough for inboxbot configs; not a general TOML writer (no dates, no inline tables).
    """
    lines: list[str] = []
    _write_table(lines, data, [])
    return "\n".join(lines).lstrip("\n") + "\n"


def _write_table(lines: list[str], table: Mapping[str, Any], path: list[str]) -> None:
    for key, value in table.items():
        if not _is_table(value) and not _is_table_array(value):
            lines.append(f"{_key(key)} = {_value(value, '.'.join(path + [key]))}")
    for key, value in table.items():
        if _is_table(value):
            lines.append("")
            lines.append(f"[{'.'.join(_key(k) for k in path + [key])}]")
            _write_table(lines, value, path + [key])
        elif _is_table_array(value):
            for item in value:
                lines.append("")
                lines.append(f"[[{'.'.join(_key(k) for k in path + [key])}]]")
                _write_table(lines, item, path + [key])


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def _value(value: Any, where: str) -> str:
    # JSON's string escapes (\" \\ \n \uXXXX) are all valid in TOML basic strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v, where) for v in value) + "]"
    raise ConfigError(f"{where}: cannot write a {type(value).__name__} as TOML")
