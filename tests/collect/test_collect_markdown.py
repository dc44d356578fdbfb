"""Model replies as Markdown: what ``render_markdown`` keeps and neutralises; ``POST /api/render``."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from tests.collect.collect_helpers import AGREE
from wildchat.collect.markdown import ALLOWED_TAGS, render_markdown


class _Tags(HTMLParser):
    """Every start tag and attribute of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def test_common_markdown_becomes_html() -> None:
    html = render_markdown(
        "# Title\n\nSome *em*, **strong**, `code` and ~~gone~~.\n\n- a\n- b\n\n3. c\n4. d\n\n"
        "> quoted\n\n| h1 | h2 |\n|:--|--:|\n| x | y |\n\n```python\nprint('hi')\n```\n\n"
        "[link](https://example.org/a?b=1) <https://auto.example>"
    )
    names = [t for t, _ in tags(html)]
    for tag in ("h1", "em", "strong", "code", "s", "ul", "ol", "li", "blockquote"):
        assert tag in names, tag
    for tag in ("table", "th", "td", "pre", "a"):
        assert tag in names, tag
    assert '<ol start="3">' in html
    assert '<code class="language-python">' in html
    links = [a for t, a in tags(html) if t == "a"]
    assert [a["href"] for a in links] == ["https://example.org/a?b=1", "https://auto.example"]
    assert all(a["rel"] == "noopener noreferrer nofollow" for a in links)
    assert "style" not in html  # column alignment would need inline style, which the CSP forbids


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](file:///etc/passwd)",
        "![pixel](https://tracker.example/p.gif)",
        "![pixel](data:image/png;base64,iVBORw0KGgo=)",
        "<iframe src=https://evil.example></iframe>",
        "<svg onload=alert(1)></svg>",
        "<style>body{display:none}</style>",
        '<div style="background:url(https://tracker.example/x)">x</div>',
        "```\n<script>alert(1)</script>\n```",
        '```js" onmouseover="alert(1)\ncode\n```',
        "| <img src=x onerror=alert(1)> |\n|---|\n| [c](javascript:alert(1)) |",
        "<!-- comment --><form action=https://evil.example><input name=p></form>",
    ],
)
def test_hostile_markdown_is_inert(hostile: str) -> None:
    html = render_markdown(hostile)
    for tag, attrs in tags(html):
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on") and name != "style" and name != "src", (name, html)
            if name == "href":
                assert value is not None and re.match(r"^(https?:|mailto:|[^:]*$)", value), html
            if name == "class":
                assert value is not None and re.fullmatch(r"language-[\w+#.-]+", value), html
    assert "<script" not in html and "<img" not in html  # markup survives only as escaped, visible text


def test_markup_inside_code_is_text() -> None:
    html = render_markdown("```html\n<script>alert(1)</script>\n```\n\nand `<b>bold?</b>`")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<code>&lt;b&gt;bold?&lt;/b&gt;</code>" in html


def test_images_become_plain_links() -> None:
    (link,) = [a for t, a in tags(render_markdown("![a cat](https://img.example/cat.png)")) if t == "a"]
    assert link["href"] == "https://img.example/cat.png"
    assert "a cat" in render_markdown("![a cat](https://img.example/cat.png)")


def test_an_unfinished_stream_renders_as_far_as_it_goes() -> None:
    html = render_markdown("Here:\n\n```python\ndef f(")
    assert '<code class="language-python">def f(' in html
    assert render_markdown("") == ""


# --- POST /api/render ----------------------------------------------------------------------------


def test_render_endpoint_needs_consent_and_renders(client: TestClient) -> None:
    r = client.post("/api/render", json={"text": "**x**"})
    assert r.status_code == 403 and r.json()["error"] == "consent_required"
    client.post("/api/consent", json=AGREE)
    r = client.post("/api/render", json={"text": "**x** <script>y</script>"})
    assert r.status_code == 200
    assert r.json() == {"html": "<p><strong>x</strong> &lt;script&gt;y&lt;/script&gt;</p>\n"}
    big = "- item\n" * 3000  # > the inline threshold: rendered off the event loop, same result
    assert client.post("/api/render", json={"text": big}).json()["html"].count("<li>") == 3000


def test_render_endpoint_refuses_bad_bodies(make_app: Callable[..., TestClient]) -> None:
    client = make_app(max_body_bytes=2048)
    client.post("/api/consent", json=AGREE)
    assert client.post("/api/render", json={"text": 5}).status_code == 400
    assert client.post("/api/render", json=["x"]).status_code == 400
    json_type = {"content-type": "application/json"}
    assert client.post("/api/render", content=b"{", headers=json_type).status_code == 400
    assert client.post("/api/render", json={"text": "x" * 5000}).status_code == 413
    assert client.post("/api/render", content=b"text=x").status_code == 415


def test_render_endpoint_is_rate_limited(make_app: Callable[..., TestClient]) -> None:
    client = make_app(rate_limit_per_minute=1)  # renders: max(600, 20 x 1) a minute
    client.post("/api/consent", json=AGREE)
    codes = [client.post("/api/render", json={"text": "x"}).status_code for _ in range(601)]
    assert codes[:600] == [200] * 600 and codes[600] == 429
