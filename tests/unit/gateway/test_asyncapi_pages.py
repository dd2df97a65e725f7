"""/asyncapi beside /docs: the AsyncAPI documents, their readable pages and the topics' JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.gateway.api import asyncapi

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"
SERVICES = sorted(p.stem for p in (CONTRACTS / "asyncapi").glob("*.json"))


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.include_router(asyncapi.router)
    return TestClient(app)


def test_the_index_links_every_service_page_document_and_topic_schema(client):
    page = client.get("/asyncapi")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for service in SERVICES:
        assert f'href="/asyncapi/{service}.html"' in page.text and f'href="/asyncapi/{service}.json"' in page.text
    for schema in (CONTRACTS / "schemas").glob("*.json"):
        assert f'href="/asyncapi/schemas/{schema.name}"' in page.text
    assert 'href="/docs"' in page.text
    assert client.get("/asyncapi/").text == page.text


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_its_document_and_a_readable_page_of_every_channel(client, service):
    document = client.get(f"/asyncapi/{service}.json")
    assert document.status_code == 200 and document.headers["content-type"] == "application/json"
    assert document.json() == json.loads((CONTRACTS / "asyncapi" / f"{service}.json").read_text())

    page = client.get(f"/asyncapi/{service}.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f"<title>{document.json()['info']['title']}: AsyncAPI</title>" in page.text
    for channel in document.json()["channels"].values():  # rendered, not left to a script
        assert channel["address"] in page.text
    for asset in ("asyncapi.css", "asyncapi-standalone.js", "asyncapi-page.js"):
        assert asset in page.text and client.get(f"/asyncapi/{asset}").status_code == 200


def test_the_topic_schemas_are_served_as_published(client):
    served = client.get("/asyncapi/schemas/plant.events.v1.json")
    assert served.status_code == 200
    assert served.json() == json.loads((CONTRACTS / "schemas" / "plant.events.v1.json").read_text())


@pytest.mark.parametrize("path", ["/asyncapi/nothing.json", "/asyncapi/schemas/nothing.json",
                                  "/asyncapi/..%2F..%2Fpyproject.toml", "/asyncapi/schemas/..%2Fasyncapi%2Fintake.json",
                                  "/asyncapi/__init__.py"])
def test_only_the_published_files_are_served(client, path):
    assert client.get(path).status_code == 404
