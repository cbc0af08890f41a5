"""What the outputs of one build read: the input of recording, gathered as outputs render."""

from __future__ import annotations

from array import array
from collections.abc import Sequence


class Reads:
    """Each distinct key once, numbered, and each output's keys as an array of those numbers.

    A large site's outputs read millions of keys, mostly the same ones: an array holds a key in
    4 bytes where a tuple takes 8, and recording numbers the facts from here instead of
    gathering every key into sets and dicts of its own.
    """

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}  # key -> number, in the order first read
        self.by_path: dict[str, array[int]] = {}

    def add(self, path: str, keys: Sequence[str]) -> None:
        numbers = self.numbers
        for key in set(keys).difference(numbers):
            numbers[key] = len(numbers)
        self.by_path[path] = array("I", map(numbers.__getitem__, keys))
