"""The draws' random stream is part of every stored draw (001 §14 draw records verifiable): the same seed and key
must give the same numbers forever, or stored draws stop verifying. Pinned here, for both algorithms."""

from __future__ import annotations

from services.activities import sampling
from services.activities.sampling import SeededStream
from services.draws import target_rules

SEED = b"\x01" * 32


def test_the_expert_draw_v1_stream_is_pinned() -> None:
    stream = SeededStream(SEED, "supervision", domain=sampling._STREAM_DOMAIN)
    assert [stream.below(1000) for _ in range(8)] == [471, 808, 35, 806, 996, 36, 844, 560]


def test_the_target_draw_t1_stream_is_pinned_and_its_own() -> None:
    stream = SeededStream(SEED, "supervision", domain=target_rules._STREAM_DOMAIN)
    assert [stream.below(1000) for _ in range(8)] == [624, 430, 100, 594, 681, 501, 239, 954]
