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

A recorded exchange is keyed by its URL alone (:func:`url_key`): the last
segment of its path, percent-decoded, which for ``.../jobs/{jobId}`` is the
id ``observe`` judges, under any ``--path-prefix``. Other endpoints' URLs
are keyed the same way, only to spread them (and their skipped counts)
over the shards. Being a function of the URL and nothing else, the key is
known before a record is parsed: a reader can drop other shards' records
unread (see ``recordings``).
"""

from __future__ import annotations

import argparse
import zlib
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = ["ALL", "Shard", "shard_argument", "url_key", "url_path"]


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
        """Whether the input keyed ``key`` (a job id, in any case; see :func:`url_key`) is
        this shard's."""
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


def url_path(url: str) -> str:
    """The path of a recorded URL: ``urlsplit``'s, without its cost for the usual forms.

    For ``http``, ``https`` and absolute paths it is read here, the same as
    ``urlsplit`` reads any URL it accepts that holds no tab or line break
    (which ``urlsplit`` deletes); a URL it refuses (an unclosed ``[`` of an
    IPv6 host) still has that path. Any other URL has ``urlsplit``'s path, or
    none when ``urlsplit`` refuses it. Every shard reads a URL alike, which
    is what keying needs.
    """
    if url.startswith(("http://", "https://")):
        rest = url[url.index("//") + 2 :].partition("#")[0].partition("?")[0]
        slash = rest.find("/")  # the authority ends at the first "/", "?" or "#"
        return rest[slash:] if slash >= 0 else ""
    if url.startswith("/") and not url.startswith("//"):
        return url.partition("#")[0].partition("?")[0]
    return _split_path(url)


def _split_path(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:
        return ""  # a record, not a crash of the reading: no path, so not a job's URL


def url_key(url: str) -> str:
    """The shard key of a recorded URL: the last segment of its path (:func:`url_path`'s),
    percent-decoded.

    For ``.../jobs/{jobId}`` that is the job id ``observe`` extracts (the
    segment after the last ``/jobs/``, unquoted), whatever the prefix, so
    every read of a job keys alike; ``holds`` folds the case.
    """
    return unquote(url_path(url).rpartition("/")[2])
