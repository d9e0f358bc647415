"""Which part of the inputs a process judges: ``--shard K/N`` on ``observe`` and ``audit``.

Every process reads the same inputs and judges only what falls in its
shard, so N machines (or a Dask bag of N partitions) split the work without
a coordinator, and their partial reports merge (``report --merge``) to the
report of one process over everything.

The key is a job's id in lower case: every read of one job, in any case,
falls in the same shard, so what only two reads of one job show (a repeat
with another body, another case with another outcome) is judged where both
are. The hash is CRC-32, the same in every process and on every machine
(Python's own ``hash`` of a string is salted per process).
"""

from __future__ import annotations

import argparse
import zlib
from dataclasses import dataclass

__all__ = ["ALL", "Shard", "shard_argument"]


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int = 1
    count: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise ValueError(f"shard {self.index} of {self.count}: expected 1 <= K <= N")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``K/N``, as ``--shard`` takes it; a ValueError naming what is wrong."""
        index, sep, count = text.partition("/")
        if not sep or not index.strip().isdigit() or not count.strip().isdigit():
            raise ValueError(f"{text!r} is not K/N (e.g. 1/4)")
        return cls(int(index), int(count))

    def holds(self, key: str) -> bool:
        """Whether the input keyed ``key`` (a job id, in any case) is this shard's."""
        if self.count == 1:
            return True
        digest = zlib.crc32(key.lower().encode("utf-8", "surrogatepass"))
        return digest % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


ALL = Shard()


def shard_argument(text: str) -> Shard:
    """``--shard``'s argparse type: a usage error (exit 4) when it is not K/N with 1 <= K <= N."""
    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
