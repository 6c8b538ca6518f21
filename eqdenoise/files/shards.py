"""Splitting a batch between processes: file i of the batch goes to shard i mod N, so shards never overlap or miss one."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..errors import EqdenoiseError, UsageError


def resolve_shard(given: str | None, environ: Mapping[str, str] = os.environ) -> tuple[int, int]:
    """(K, N) from ``--shard K/N`` (1-based), else from torchrun's RANK and WORLD_SIZE, else (1, 1)."""
    if given is None:
        try:
            world = int(environ.get("WORLD_SIZE", "1"))
            rank = int(environ.get("RANK", "0"))
        except ValueError:
            raise EqdenoiseError("RANK and WORLD_SIZE must be whole numbers (as torchrun sets them)") from None
        if world < 1 or not 0 <= rank < world:
            raise EqdenoiseError(f"RANK {rank} is not within WORLD_SIZE {world}")
        return rank + 1, world
    parts = given.split("/")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise UsageError(f"--shard {given!r} must be K/N, e.g. 1/4 for the first of four shards")
    index, count = int(parts[0]), int(parts[1])
    if not 1 <= index <= count:
        raise UsageError(f"--shard {given}: K must be from 1 to N")
    return index, count


def shard_indices(total: int, shard: tuple[int, int]) -> range:
    """Positions of the batch's files that shard (K, N) processes: K − 1, K − 1 + N, …"""
    index, count = shard
    return range(index - 1, total, count)
