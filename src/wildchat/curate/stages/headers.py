"""Stage ``headers``: coarser request headers, for fewer unique users.

WildChat publishes each user turn's full ``user-agent`` and
``accept-language``; with country and state they single out many users
(``wildchat audit`` reports the share).  This optional stage (not in the
default pipeline) reduces, on every turn and on the conversation:

* ``user-agent`` to browser family + major version + OS family, e.g.
  ``"Mozilla/5.0 (Windows NT 10.0; Win64; x64) ... Chrome/120.0.6099.130
  Safari/537.36"`` -> ``"Chrome 120 / Windows"``, parsed with ``ua-parser``
  (the maintained uap-core regexes); an unparsable string becomes
  ``"Other / Other"``; ``user_agent = false`` leaves it alone;
* ``accept-language`` to its first language tag:
  ``"en-US,en;q=0.9,fr;q=0.8"`` -> ``"en-US"``; ``primary_language_only``
  keeps just the language subtag (``"en"``); ``accept_language = false``
  leaves it alone.

Null or empty headers stay as they are.  Never drops a row.  User-agent
strings repeat a lot, so parses are cached per worker (bounded).
Counters: ``turns_changed``, ``user_agents_parsed`` (cache misses).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import pyarrow as pa

from wildchat.curate.stages import register_stage
from wildchat.curate.stages.base import Stage
from wildchat.curate.stages.batch import set_column, turn_field, with_turn_fields

__all__ = ["HeadersStage", "first_language_tag"]

_CACHE_MAX = 200_000
_TAG = re.compile(r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)")


def first_language_tag(value: str, primary_only: bool = False) -> str:
    """The first tag of an ``Accept-Language`` value (``""`` when there is none)."""
    m = _TAG.match(value or "")
    if not m:
        return ""
    tag = m.group(1)
    return tag.split("-")[0] if primary_only else tag


@register_stage
class HeadersStage(Stage):
    """Reduce user-agent to browser + major + OS family and accept-language to one tag."""

    name: ClassVar[str] = "headers"
    description: ClassVar[str] = (
        "coarser headers: user-agent -> browser family + major version + OS family, "
        "accept-language -> first tag (optional; fewer unique users)"
    )
    defaults: ClassVar[dict[str, Any]] = {
        "user_agent": True,
        "accept_language": True,
        "primary_language_only": False,
    }
    requires: ClassVar[tuple[str, ...]] = ("ua_parser",)
    install_hint: ClassVar[str] = "pip install 'wildchat[curate]'  (ua-parser)"
    process_dropped: ClassVar[bool] = True

    def setup(self) -> None:
        self.check_requirements()
        self._ua: dict[str, str] = {}

    def user_agent(self, value: str) -> str:
        """``"<browser> <major> / <os>"`` for a user-agent string (cached)."""
        got = self._ua.get(value)
        if got is None:
            from ua_parser import parse

            res = parse(value)
            ua, os_ = res.user_agent, res.os
            browser = (
                f"{ua.family} {ua.major}" if ua is not None and ua.major else (ua.family if ua else "Other")
            )
            got = f"{browser} / {os_.family if os_ is not None else 'Other'}"
            if len(self._ua) >= _CACHE_MAX:
                self._ua.clear()
            self._ua[value] = got
            self.count("user_agents_parsed")
        return got

    def _reduce(self, headers: pa.StructArray) -> tuple[pa.StructArray, list[bool]]:
        uas = headers.field("user-agent").to_pylist()
        langs = headers.field("accept-language").to_pylist()
        changed = [False] * len(uas)
        for i, (ua, lang) in enumerate(zip(uas, langs, strict=True)):
            if ua and self.config["user_agent"]:
                new = self.user_agent(ua)
                changed[i] = changed[i] or new != ua
                uas[i] = new
            if lang and self.config["accept_language"]:
                new = first_language_tag(lang, bool(self.config["primary_language_only"]))
                changed[i] = changed[i] or new != lang
                langs[i] = new
        arrays = [pa.array(langs, pa.string()), pa.array(uas, pa.string())]
        by_name = dict(zip(("accept-language", "user-agent"), arrays, strict=True))
        struct = pa.StructArray.from_arrays(
            [by_name[f.name] for f in headers.type], fields=list(headers.type), mask=headers.is_null()
        )
        return struct, changed

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if not hasattr(self, "_ua"):
            self.setup()
        turn_headers, changed = self._reduce(turn_field(batch, "header"))
        self.count("turns_changed", sum(changed))
        batch = with_turn_fields(batch, {"header": turn_headers})
        conv_headers, _ = self._reduce(batch.column("header"))
        return set_column(batch, "header", conv_headers)
