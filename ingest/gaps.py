"""Loss you can see: gaps in a gateway's message counter (contract v1.1 ``seq``).

A gateway numbers its readings messages 0 or 1, 2, 3, ...; a number that never arrives is a
message lost between the gateway and carewatch (a broker queue that overflowed, a session the
broker dropped) even when every PUBACK reached the gateway.  `SequenceState` follows one gateway:

* a number beyond the next expected one opens a gap: the numbers skipped count as missing at once;
* a late number inside an open gap fills it (out of order is not loss) while it is at most
  `REORDER_WINDOW` behind the newest; older gaps are settled: their numbers stay missing;
* a number back at 0 or 1 is the gateway's counter restarting (a reboot): a reset, not a gap;
* any other number already passed is a duplicate (QoS 1 redelivers): counted, never a gap.

Known limit: a redelivered copy of a gateway's very first message (seq 0 or 1) looks like a reset.

>>> state = SequenceState.first(1)
>>> for seq in (2, 5, 3, 5, 6):
...     state = state.observe(seq)
>>> state.missing, state.open_gaps, state.duplicates
(1, ((4, 4),), 1)
>>> state = state.observe(4).observe(1)
>>> state.missing, state.resets, state.highest
(0, 1, 1)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

REORDER_WINDOW = 1_000
"""How many messages behind the newest a late one still fills its gap."""
MAX_OPEN_GAPS = 100
"""Open gaps kept per gateway (the oldest are settled first): bounds the state a gateway can make us keep."""


@dataclass(frozen=True, slots=True)
class SequenceState:
    highest: int
    """The newest number since the counter last started."""
    open_gaps: tuple[tuple[int, int], ...] = ()
    """Missing numbers that may still arrive, as inclusive ranges, oldest first."""
    missing: int = 0
    """Messages missing: numbers skipped and not (yet) filled, settled gaps included."""
    resets: int = 0
    duplicates: int = 0

    @classmethod
    def first(cls, seq: int) -> SequenceState:
        """The first number heard from a gateway: what came before carewatch listened is not counted."""
        return cls(seq)

    def observe(self, seq: int) -> SequenceState:
        if seq > self.highest:
            gaps = self.open_gaps
            if seq > self.highest + 1:
                gaps = (*gaps, (self.highest + 1, seq - 1))
            return replace(self, highest=seq, open_gaps=_settled(gaps, seq), missing=self.missing + seq - self.highest - 1)
        for position, (low, high) in enumerate(self.open_gaps):
            if low <= seq <= high:
                split = tuple((a, b) for a, b in ((low, seq - 1), (seq + 1, high)) if a <= b)
                gaps = self.open_gaps[:position] + split + self.open_gaps[position + 1 :]
                return replace(self, open_gaps=gaps, missing=self.missing - 1)
        if seq <= 1 and seq < self.highest:
            return replace(self, highest=seq, open_gaps=(), resets=self.resets + 1)
        return replace(self, duplicates=self.duplicates + 1)


def _settled(gaps: tuple[tuple[int, int], ...], highest: int) -> tuple[tuple[int, int], ...]:
    recent = tuple(gap for gap in gaps if gap[1] >= highest - REORDER_WINDOW)
    return recent[-MAX_OPEN_GAPS:]
