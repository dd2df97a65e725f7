"""A pasted JWS checked against the published keys (`domain/jws.py`, issue 24): every answer in full,
with what it says is wrong."""

from __future__ import annotations

import json

import pytest

from contracts.signing import Signer, b64url
from services.gateway.domain import jws

SIGNER = Signer.from_seed(bytes(range(32)))
OTHER = Signer.from_seed(bytes(range(1, 33)))
PAYLOAD = {"certificate_id": "c1"}


def token(payload: object = PAYLOAD, header: dict | None = None, signer: Signer = SIGNER) -> str:
    head = b64url(json.dumps(header or {"alg": "EdDSA", "kid": signer.kid}).encode())
    body = b64url(json.dumps(payload).encode())
    signature = b64url(signer.key.sign(f"{head}.{body}".encode()))
    return f"{head}.{body}.{signature}"


def answer(check: jws.JwsCheck) -> tuple:
    return check.payload, check.key_id, check.signature_valid, check.problem


def test_a_jws_signed_by_a_published_key_holds():
    assert answer(jws.check(token(), [OTHER.jwk, SIGNER.jwk])) == (PAYLOAD, SIGNER.kid, True, None)


def test_a_jws_whose_key_is_not_published_says_so_and_still_shows_its_content():
    # Another published Ed25519 key is not this JWS's key, whatever its curve.
    assert answer(jws.check(token(), [OTHER.jwk])) == (PAYLOAD, SIGNER.kid, None, "no published key has this key id")


def test_a_changed_jws_is_refused_with_its_content_and_key_id():
    head, _, signature = token().split(".")
    forged = f"{head}.{b64url(json.dumps({'certificate_id': 'c2'}).encode())}.{signature}"
    assert answer(jws.check(forged, [SIGNER.jwk])) == (
        {"certificate_id": "c2"}, SIGNER.kid, False,
        "the signature does not match: the document was changed or signed by another key")


def test_a_jws_signed_by_another_key_under_this_key_id_is_refused():
    assert answer(jws.check(token(header={"alg": "EdDSA", "kid": SIGNER.kid}, signer=OTHER), [SIGNER.jwk]))[2:] == (
        False, "the signature does not match: the document was changed or signed by another key")


def test_another_algorithm_is_refused_naming_it():
    assert answer(jws.check(token(header={"alg": "HS256", "kid": SIGNER.kid}), [SIGNER.jwk])) == (
        PAYLOAD, SIGNER.kid, False, "unexpected algorithm 'HS256'")


def test_a_key_id_that_is_not_a_string_is_no_key_id():
    assert answer(jws.check(token(header={"alg": "EdDSA", "kid": 7}), [SIGNER.jwk]))[1:3] == (None, None)


@pytest.mark.parametrize(("text", "problem"), [
    ("a.b.c", "this is not a compact JWS (three base64url parts with a JSON header and payload)"),
    (token(payload=[1, 2]), "the header and payload must be JSON objects"),
    (token(payload={"a": [[[[[[[[[[1]]]]]]]]]]}),
     "its header or payload nests too deeply to be a document of the platform"),
])
def test_what_is_not_a_document_of_the_platform_says_why(text, problem):
    assert answer(jws.check(text, [SIGNER.jwk], max_depth=8)) == (None, None, False, problem)


def test_a_deep_signature_part_does_not_count_and_a_part_that_is_not_base64url_is_left_to_the_parser():
    deep_signature = f"{token().rsplit('.', 1)[0]}.{b64url(b'[' * 40)}"
    assert jws.check(deep_signature, [SIGNER.jwk], max_depth=8).problem == (
        "the signature does not match: the document was changed or signed by another key")
    assert jws.check("!!!.###.$$$", [SIGNER.jwk]).problem == (
        "this is not a compact JWS (three base64url parts with a JSON header and payload)")


@pytest.mark.parametrize(("text", "looks"), [
    ("a" * 19 + "." + "b" * 19 + ".c", True),  # 41 characters
    ("a" * 19 + "." + "b" * 18 + ".c", False),  # 40
    ("a" * 20 + "." + "b" * 19 + ".", True),  # no signature part: still pasted as a JWS
    ("." + "b" * 40 + ".c", False),
    ("a" * 40 + "..c", False),
    ("a" * 20 + "." + "b" * 20, False),
])
def test_what_looks_like_a_jws_is_three_parts_with_a_header_and_payload_and_over_forty_characters(text, looks):
    assert jws.looks_like_jws(text) is looks
