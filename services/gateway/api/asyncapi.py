"""The event API's documentation beside /docs: each service's AsyncAPI document, its readable page
(rendered offline by tools/asyncapi/render.mjs, committed in services/gateway/asyncapi_html/), and
the JSON Schema of every topic. Public, like /docs: these are the contracts producers program against."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

import contracts

router = APIRouter(prefix="/asyncapi", tags=["event API documentation"])
CONTRACTS = Path(contracts.__file__).resolve().parent
PAGES = Path(__file__).resolve().parent.parent / "asyncapi_html"
MEDIA_TYPES = {".json": "application/json", ".html": "text/html; charset=utf-8", ".css": "text/css",
               ".js": "text/javascript", ".txt": "text/plain; charset=utf-8"}


def _files(folder: Path) -> dict[str, Path]:
    """What may be served from a folder, by name (nothing else: no path from the request is opened)."""
    return {path.name: path for path in sorted(folder.glob("*")) if path.suffix in MEDIA_TYPES and path.is_file()}


DOCUMENTS = _files(CONTRACTS / "asyncapi")
SCHEMAS = _files(CONTRACTS / "schemas")
ASSETS = {**_files(PAGES), **DOCUMENTS}


def _serve(files: dict[str, Path], name: str) -> FileResponse:
    path = files.get(name)
    if path is None:
        raise HTTPException(status_code=404)
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix])


@router.get("", response_class=HTMLResponse, summary="Every service's AsyncAPI document and the topics' JSON Schemas")
@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index() -> HTMLResponse:
    services = []
    for name, path in DOCUMENTS.items():
        service = path.stem
        title = json.loads(path.read_text())["info"]["title"]
        page = f'<a href="/asyncapi/{service}.html">{escape(title)}</a>' if f"{service}.html" in ASSETS else escape(title)
        services.append(f'<li>{page} (<a href="/asyncapi/{escape(name)}">{escape(name)}</a>, AsyncAPI 3.0)</li>')
    schemas = [f'<li><a href="/asyncapi/schemas/{escape(name)}">{escape(name)}</a></li>' for name in SCHEMAS]
    return HTMLResponse(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ASI platform: event API</title></head>
<body style="font-family:system-ui,sans-serif;max-width:46rem;margin:0 auto;padding:1rem;line-height:1.5">
<h1>ASI platform: event API</h1>
<p>What each service reads and writes on Kafka, as AsyncAPI documents (the HTTP API is at <a href="/docs">/docs</a>).
Quantities are decimal strings, every message carries the envelope and a <code>type</code> tag.</p>
<h2>Services</h2><ul>{"".join(services)}</ul>
<h2>JSON Schemas of the topics (2020-12)</h2><ul>{"".join(schemas)}</ul>
</body></html>""")


@router.get("/schemas/", response_class=HTMLResponse, include_in_schema=False)
async def schemas_index() -> HTMLResponse:
    return await index()


@router.get("/schemas/{name}", summary="The JSON Schema of a topic")
async def schema(name: str) -> FileResponse:
    return _serve(SCHEMAS, name)


@router.get("/{name}", summary="A service's AsyncAPI document (<service>.json) or its page (<service>.html)")
async def document_or_page(name: str) -> FileResponse:
    return _serve(ASSETS, name)
