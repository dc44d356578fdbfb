"""Model replies as safe HTML: markdown-it-py parses, nh3 sanitises.

Chat models answer in Markdown, and a reply is hostile input like any other
(it echoes whatever a participant or a web page put in front of the model).
Two maintained libraries, two layers:

1. ``markdown-it-py`` (CommonMark + GFM tables and strikethrough) with raw
   HTML *off*: ``<script>``, ``<img onerror>`` and every other tag in the
   text come out escaped, as visible text.  Its link validator already
   refuses ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` targets.
   Images are rendered as plain links (alt text -> URL), so a reply can
   never make the browser fetch a tracking pixel by itself.
2. ``nh3`` (Rust ``ammonia``) then keeps only an allow-list of tags and
   attributes: links only to ``http``/``https``/``mailto`` with
   ``rel="noopener noreferrer nofollow"``, ``class`` only as a code block's
   ``language-*`` label, no ``style`` (the page's CSP forbids inline style
   anyway), no event handlers, no images, no forms.

The page's Content-Security-Policy (no inline script, own origin only) is the
third layer.  Rendering is pure and stateless; the result is what the page
puts in a reply bubble.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

__all__ = ["ALLOWED_TAGS", "render_markdown"]

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s",
        "code", "pre", "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "a",
    }
)  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "ol": {"start"}}
_URL_SCHEMES = {"http", "https", "mailto"}
_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")


def _image_as_link(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    """``![alt](url)`` -> ``<a href="url">alt</a>``: no request leaves the browser unless clicked."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    return f'<a href="{escapeHtml(src)}">{escapeHtml(alt)}</a>'


def _keep_attribute(tag: str, attr: str, value: str) -> str | None:
    """nh3 attribute filter: a code block's class only when it is one ``language-*`` label."""
    if tag == "code" and attr == "class":
        return value if _LANGUAGE_CLASS.fullmatch(value) else None
    return value


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False, "breaks": True})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("image", _image_as_link)
    return md


_MD = _parser()


def render_markdown(text: str) -> str:
    """Sanitised HTML for the Markdown ``text`` (a reply, possibly still streaming).

    Contract: the output holds only :data:`ALLOWED_TAGS`, no event-handler or
    style attribute, and no URL outside http/https/mailto; an unfinished
    construct (an open code fence mid-stream) renders as far as it goes.
    """
    html = _MD.render(text)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in _ATTRIBUTES.items()},
        attribute_filter=_keep_attribute,
        url_schemes=set(_URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
