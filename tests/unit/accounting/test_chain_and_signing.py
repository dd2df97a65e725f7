from decimal import Decimal

import pytest

from services.accounting.domain.chain import GENESIS, entry_hash, verify_chain
from services.accounting.signing import (
    DocumentInvalid,
    Signer,
    public_key_from_text,
    public_key_texts,
    verify,
)
from tests.unit.accounting.factories import NOW, ledger, receipt, ship


def books_with_entries():
    books = ledger("v3-draft-group-credit")
    books.apply(receipt("1000", "500"), NOW)
    outcomes = books.apply(ship("300", "200"), NOW)
    books.apply(receipt("100", "100"), NOW)
    return books, outcomes[-1].document


def test_entries_form_a_hash_chain_that_detects_tampering():
    books, _ = books_with_entries()
    entries = books.entries
    assert entries[0].previous_hash == GENESIS and entries[1].previous_hash == entries[0].hash
    assert verify_chain(entries) == []
    forged = entries[1].model_copy(update={"coc_credit_kg": Decimal(-1)})
    [problem] = verify_chain([entries[0], forged, entries[2]])
    assert problem.sequence == 2 and "content" in problem.problem
    assert verify_chain([entries[0], entries[2]])  # a deleted entry breaks the links


def test_an_entry_as_stored_hashes_as_the_entry_itself():
    """Auditors recompute the chain from stored documents (JSON), not only from the models."""
    books, _ = books_with_entries()
    for entry in books.entries:
        assert entry_hash(entry.model_dump(mode="json")) == entry_hash(entry) == entry.hash


def test_a_signed_document_verifies_offline_and_any_change_breaks_it():
    _, document = books_with_entries()
    signer = Signer.generate()
    jws = signer.sign(document)
    assert verify(jws, signer.public_key, document)["document_id"] == document.document_id
    texts = public_key_texts(signer.public_key)
    for text in (texts["pem"], texts["public_key"]):
        assert verify(jws, public_key_from_text(text), document)
    with pytest.raises(DocumentInvalid):
        verify(jws, signer.public_key, document.model_copy(update={"coc_mass_kg": Decimal(999)}))
    with pytest.raises(DocumentInvalid):
        verify(jws, Signer.generate().public_key, document)
    head, payload, signature = jws.split(".")
    with pytest.raises(DocumentInvalid):
        verify(f"{head}.{payload}.{signature[:-4]}AAAA", signer.public_key)


def test_a_key_restored_from_its_seed_signs_the_same():
    _, document = books_with_entries()
    signer = Signer.generate()
    again = Signer.from_seed(signer.seed)
    assert again.key_id == signer.key_id and again.sign(document) == signer.sign(document)
