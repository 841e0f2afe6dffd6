"""Every page of lingong loads its scripts, styles, images and fonts from lingong itself.

A government intranet (政务外网) has no internet: a page that loads anything from a CDN is
blank there. Each page is fetched over HTTP and parsed (script/link/img/... attributes,
inline and linked CSS `url(...)` and `@import`); every address must be on this server and
answer 200. The only outside address allowed is the tile URL template of /map (in its
JSON config, never in an attribute). The browser test `test_pages_browser.py` shows the
same pages rendering with the network cut off.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from adapters.http.map_page import DEFAULT_TILES
from tests.http.world import Env

PAGES = ("/schema", "/schema/swagger", "/map", "/map?station=S1", "/board/S1")
URL_ATTRS = {"src", "href", "srcset", "poster", "data", "action", "formaction", "background"}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")
ABSOLUTE = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s"'<>)]*""")
# names, not loads: XML namespaces and the spec identifiers in the OpenAPI document
NOT_LOADS = ("http://www.w3.org/", "https://spec.openapis.org/", "https://json-schema.org/")


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []  # (tag.attr, url)
        self.css: list[str] = []
        self.scripts: list[tuple[str, str]] = []  # (type, inline text)
        self._in: str | None = None
        self._type = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRS:
                for part in value.split(","):
                    url = part.strip().split(" ")[0]
                    if url:
                        self.refs.append((f"{tag}.{name}", url))
            if name == "style":
                self.css.append(value)
        if tag in ("style", "script"):
            self._in = tag
            self._type = dict(attrs).get("type") or ""

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.css.append(data)
        elif self._in == "script":
            self.scripts.append((self._type, data))


def _local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "javascript", "about"):
        return True
    return not parts.scheme and not parts.netloc


def _outside(text: str) -> list[str]:
    return [u for u in ABSOLUTE.findall(text) if not u.startswith(NOT_LOADS)]


def _check_css(env: Env, css: str, base: str, seen: set[str]) -> None:
    for a, b in CSS_URL.findall(css):
        url = a or b
        assert _local(url), f"{base}: CSS loads {url} from outside"
        if not url.startswith("data:"):
            _fetch_local(env, urljoin(base, url), seen)


def _fetch_local(env: Env, path: str, seen: set[str]) -> None:
    if path in seen:
        return
    seen.add(path)
    resp = env.client.get(path)
    assert resp.status_code == 200, (path, resp.status_code)
    if resp.headers["content-type"].startswith("text/css"):
        _check_css(env, resp.text, path, seen)


def test_every_page_loads_only_local_assets(env: Env) -> None:
    seen: set[str] = set()
    for page in PAGES:
        resp = env.client.get(page)
        assert resp.status_code == 200, page
        assert resp.headers["content-type"].startswith("text/html"), page
        parser = _Refs()
        parser.feed(resp.text)
        assert parser.refs, page  # every page loads something (at least its icon/script)
        for where, url in parser.refs:
            assert _local(url), f"{page}: <{where}> loads {url} from outside"
            if not url.startswith(("data:", "#")):
                _fetch_local(env, urljoin(page, url), seen)
        for css in parser.css:
            _check_css(env, css, page, seen)
        inline = "".join(text for kind, text in parser.scripts if kind != "application/json")
        assert not _outside(inline), (page, _outside(inline)[:5])
        for kind, text in parser.scripts:
            if kind == "application/json":  # /map's config: only the tile template is outside
                config = json.loads(text)
                assert config["tiles"] == DEFAULT_TILES.url
                rest = {k: v for k, v in config.items() if k != "tiles"}
                assert not _outside(json.dumps(rest, ensure_ascii=False)), page
    # the vendored files were all reached through the pages
    assert {"/assets/swagger-ui/swagger-ui-bundle.js", "/assets/leaflet/leaflet.js"} <= seen
    assert "/assets/leaflet/images/layers.png" in seen  # via leaflet.css


def test_schema_page_is_swagger_ui_from_this_server(env: Env) -> None:
    page = env.client.get("/schema").text
    assert '<script src="/assets/swagger-ui/swagger-ui-bundle.js">' in page
    assert "validatorUrl: null" in page  # no validator badge fetched from outside
    assert '"openapi":"3.1.0"' in page.replace(" ", "")  # the document is inlined
    js = env.client.get("/assets/swagger-ui/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in js.text
    assert env.client.get("/schema/openapi.json").status_code == 200
    assert env.client.get("/assets/../pyproject.toml").status_code == 404
    assert env.client.get("/assets/swagger-ui/LICENSE").status_code == 404  # only the table
