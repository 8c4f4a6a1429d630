"""`email.policy.default`, with its header classes made once instead of once per header.

The stdlib's HeaderRegistry builds a new class (`type(...)`) for every header it parses or
stores, which was the largest single cost of building an acknowledgement and a visible one of
parsing a message. The classes it builds for one header name are all alike (the registered
class mixed with the same base class, nothing per instance), so building each once and keeping it
changes nothing but the time: the headers parse, fold and print exactly as with
`email.policy.default`, whose settings POLICY keeps.
"""

from __future__ import annotations

import email.policy
from email.headerregistry import HeaderRegistry
from typing import Any


class CachedHeaderRegistry(HeaderRegistry):
    """HeaderRegistry that builds the class for each header name once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._made: dict[str, type] = {}

    def map_to_type(self, name: str, cls: type) -> None:
        super().map_to_type(name, cls)
        self._made.pop(name.lower(), None)

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


POLICY = email.policy.default.clone(header_factory=CachedHeaderRegistry())
