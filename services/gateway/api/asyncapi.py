"""The event API's documentation beside /docs: each service's AsyncAPI document, its readable page
(rendered offline by tools/asyncapi/render.mjs, committed in services/gateway/asyncapi_html/), and
the JSON Schema of every topic (the index is templates/asyncapi_index.html). Public, like /docs: these are the contracts producers program against."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

import contracts
from services.gateway.templates import render

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
        page = f"{path.stem}.html"
        services.append({"title": json.loads(path.read_text())["info"]["title"], "document": name,
                         "page": page if page in ASSETS else None})
    return HTMLResponse(render("asyncapi_index.html", services=services, schemas=list(SCHEMAS)))


@router.get("/schemas/", response_class=HTMLResponse, include_in_schema=False)
async def schemas_index() -> HTMLResponse:
    return await index()


@router.get("/schemas/{name}", summary="The JSON Schema of a topic")
async def schema(name: str) -> FileResponse:
    return _serve(SCHEMAS, name)


@router.get("/{name}", summary="A service's AsyncAPI document (<service>.json) or its page (<service>.html)")
async def document_or_page(name: str) -> FileResponse:
    return _serve(ASSETS, name)
