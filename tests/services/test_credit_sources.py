"""What put a credit event on file, in words (issue 20): the raw source (``entry:1:excellent_performance``) is an
internal key; ``ledger.source_label`` gives the catalog key and the number it refers to, in both languages."""

from __future__ import annotations

import pytest

from messages import LANGUAGES, translate
from services.records.ledger import source_label


@pytest.mark.parametrize(("source", "key", "number"), [
    ("slot:12:expired", "credit.source.slot", "12"),
    ("entry:1:excellent_performance", "credit.source.work_record", "1"),
    ("excellence:3:9", "credit.source.excellence", "3"),
    ("sanction:5", "credit.source.sanction", "5"),
    ("staff:0a1b2c3d4e5f6a7b", "credit.source.staff", ""),
    ("imported:x", "credit.source.other", ""),
])
def test_each_source_reads_in_words(source: str, key: str, number: str) -> None:
    assert source_label(source) == (key, {"number": number})
    for language in LANGUAGES:
        text = translate(language, key, number=number)
        assert text != key and "_" not in text and ":" not in text
