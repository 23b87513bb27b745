"""Gaps in a gateway's message counter (contract v1.1 ``seq``) are counted as messages missing, and only those."""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.gaps import MAX_OPEN_GAPS, REORDER_WINDOW, SequenceState
from ingest.records import BatchRecord, write_batch
from ingest.stats import read_stats

SEEN = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def follow(*seqs: int) -> SequenceState:
    state = SequenceState.first(seqs[0])
    for seq in seqs[1:]:
        state = state.observe(seq)
    return state


def test_an_unbroken_count_misses_nothing():
    state = follow(*range(1, 101))
    assert (state.missing, state.open_gaps, state.resets, state.duplicates, state.highest) == (0, (), 0, 0, 100)


def test_a_skipped_range_counts_every_number_in_it_as_missing():
    state = follow(1, 2, 3, 8, 9)
    assert state.missing == 4 and state.open_gaps == ((4, 7),)


def test_what_came_before_carewatch_listened_is_not_counted():
    assert follow(5_000, 5_001).missing == 0


def test_out_of_order_within_the_window_is_not_a_gap_once_filled():
    state = follow(1, 4, 2, 3, 5)
    assert state.missing == 0 and state.open_gaps == () and state.duplicates == 0


def test_a_late_message_beyond_the_window_stays_missing():
    state = follow(1, 3, 3 + REORDER_WINDOW + 1)
    assert state.missing == 1 + REORDER_WINDOW and state.open_gaps == ((4, 3 + REORDER_WINDOW),)
    late = state.observe(2)
    assert late.missing == state.missing and late.duplicates == 1, "a message settled as lost is not un-lost"


def test_a_duplicate_is_not_a_gap():
    state = follow(1, 2, 3, 2, 3, 3, 4)
    assert state.missing == 0 and state.duplicates == 3


def test_a_counter_back_at_0_or_1_is_a_reset_not_a_gap():
    state = follow(1, 2, 3, 1, 2, 0, 1)
    assert state.missing == 0 and state.resets == 2 and state.highest == 1


def test_gaps_before_a_reset_stay_counted():
    state = follow(1, 5, 1, 2)
    assert state.missing == 3 and state.resets == 1 and state.open_gaps == ()


def test_a_gateway_cannot_make_us_keep_unbounded_state():
    state = follow(*range(0, 4 * MAX_OPEN_GAPS, 2))
    assert len(state.open_gaps) == MAX_OPEN_GAPS and state.missing == 2 * MAX_OPEN_GAPS - 1


async def test_the_count_is_stored_with_each_batch_and_kept_across_restarts(sessions):
    for seqs in ([1, 2, 3], [7, 5], [6, 4, 12]):  # each batch is its own transaction, as after a restart
        record = BatchRecord(sequences=[("gw-1", seq, SEEN) for seq in seqs])
        async with sessions.begin() as session:
            await write_batch(session, record)
        record = BatchRecord(sequences=[("gw-2", seq, SEEN) for seq in seqs])
        async with sessions.begin() as session:
            await write_batch(session, record)
    async with sessions() as session:
        stats = await read_stats(session)
    assert stats.messages_missing == 2 * 4, "4, 5 and 6 came late; 8 to 11 never did"
    assert [(g.gateway_id, g.messages_missing, g.last_seq) for g in stats.gateway_gaps] == [("gw-1", 4, 12), ("gw-2", 4, 12)]
