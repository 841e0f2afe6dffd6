"""Page and API-doc assets served by lingong itself (no CDN), and the `/schema` page.

Owns the route
    GET /assets/{name}     one vendored file (Swagger UI, Leaflet, the icon); public
and `SchemaPage`, the OpenAPI render plugin of `/schema` (and `/schema/swagger`): Swagger
UI loaded from `/assets/...` with the specification inlined, the validator badge off, the
icon local; so the API docs render on an intranet with no internet (政务外网).

Invariants:
- Only the files listed in `ASSETS` are served (a fixed table read once at import: no
  path from the request ever reaches the file system); unknown names are 404.
- No page of lingong names a script, style sheet, image or font outside the server
  (tests/http/test_pages_offline.py parses every page; the map's tile URL template is the
  one configured exception, see `adapters.http.map_page`).

Limits: the table is what `static/` ships (about 2 MB, kept in memory); responses are
cached by browsers for a day (`Cache-Control: public, max-age=86400`).
See static/VENDORED.md for the versions, checksums and licences.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.params import FromPath

from adapters.http.problems import ApiError

STATIC = Path(__file__).resolve().parent / "static"
ASSET_PREFIX = "/assets/"

_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}

# name in the URL -> file under static/
_FILES = {
    "swagger-ui/swagger-ui-bundle.js": "swagger-ui/swagger-ui-bundle.js",
    "swagger-ui/swagger-ui.css": "swagger-ui/swagger-ui.css",
    "leaflet/leaflet.js": "leaflet/leaflet.js",
    "leaflet/leaflet.css": "leaflet/leaflet.css",
    "leaflet/images/layers.png": "leaflet/images/layers.png",
    "leaflet/images/layers-2x.png": "leaflet/images/layers-2x.png",
    "leaflet/images/marker-icon.png": "leaflet/images/marker-icon.png",
    "leaflet/images/marker-icon-2x.png": "leaflet/images/marker-icon-2x.png",
    "leaflet/images/marker-shadow.png": "leaflet/images/marker-shadow.png",
}

FAVICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<rect width="64" height="64" rx="12" fill="#0b1f3a"/>'
    '<text x="32" y="45" font-size="36" text-anchor="middle" fill="#f5c400" '
    'font-family="sans-serif">零</text></svg>'
)


def _load() -> dict[str, tuple[bytes, str]]:
    table = {
        name: ((STATIC / rel).read_bytes(), _TYPES[Path(rel).suffix])
        for name, rel in _FILES.items()
    }
    table["favicon.svg"] = (FAVICON_SVG.encode(), _TYPES[".svg"])
    return table


ASSETS: dict[str, tuple[bytes, str]] = _load()


def asset_url(name: str) -> str:
    """The local URL of a vendored asset (raises KeyError for one not shipped)."""
    if name not in ASSETS:
        raise KeyError(name)
    return ASSET_PREFIX + name


FAVICON_LINK = f'<link rel="icon" type="image/svg+xml" href="{asset_url("favicon.svg")}">'


@get("/assets/{name:path}", include_in_schema=False, cache=False)
async def asset(name: FromPath[str]) -> Response[bytes]:
    hit = ASSETS.get(name.lstrip("/"))
    if hit is None:
        raise ApiError(404, "exists", "no such asset", "name")
    body, media_type = hit
    return Response(
        body,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


_SCHEMA_STYLE = "<style>body{margin:0;padding:0}</style>"


class SchemaPage(OpenAPIRenderPlugin):
    """Swagger UI from `/assets/` with the specification inlined (no network needed)."""

    def __init__(self, paths: tuple[str, ...] = ("/", "/swagger")) -> None:
        super().__init__(path=list(paths), favicon=FAVICON_LINK, style=_SCHEMA_STYLE)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = str(openapi_schema.get("info", {}).get("title", "API"))
        head = (
            '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title>{self.favicon}"
            f'<link rel="stylesheet" href="{asset_url("swagger-ui/swagger-ui.css")}">'
            f'<script src="{asset_url("swagger-ui/swagger-ui-bundle.js")}"></script>'
            f"{self.style}</head>"
        )
        spec = self.render_json(request, openapi_schema).replace(b"</", b"<\\/")
        body = b"".join(
            [
                b'<body><div id="swagger-container"></div><script>',
                b"window.ui = SwaggerUIBundle({spec: ",
                spec,
                b', dom_id: "#swagger-container", deepLinking: true, validatorUrl: null,',
                b" presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout'});",
                b"</script></body></html>",
            ]
        )
        return head.encode() + body


ROUTES = [asset]
