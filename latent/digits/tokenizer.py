"""A word-level CLIP tokenizer for the digits world, written offline.

``transformers.CLIPTokenizer`` is byte-pair encoding over a byte-level alphabet. :func:`write_word_vocab` writes
a ``vocab.json`` holding every byte (alone and word-final, as :func:`diffevo.latent.tiny.write_tiny_clip_vocab`), each
prefix of each world word, and the two special tokens (``<|endoftext|>`` last, as in CLIP), and a
``merges.txt`` whose merges build each world word left to right. So "a thick handwritten seven" is five
tokens plus BOS/EOS, and any other word still tokenizes, byte by byte.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..tiny import _bytes_to_unicode
from .data import ATTRIBUTE_WORDS, DIGIT_WORDS

__all__ = ["WORLD_WORDS", "write_word_vocab", "word_tokenizer"]

WORLD_WORDS: tuple[str, ...] = (
    "a", "an", "handwritten", "digit", *DIGIT_WORDS,
    *(w for pair in ATTRIBUTE_WORDS.values() for w in pair),
    "neat", "messy", "bold", "faint", "centered", "clean", "beautiful", "ugly",
)
"""The words that get one token each (the captions' words and a few a user might add)."""


def _chain(word: str) -> list[tuple[str, str]]:
    symbols = list(word[:-1]) + [word[-1] + "</w>"]
    merges, left = [], symbols[0]
    for right in symbols[1:]:
        merges.append((left, right))
        left = left + right
    return merges


def write_word_vocab(folder: str | os.PathLike, words: tuple[str, ...] = WORLD_WORDS) -> tuple[Path, Path]:
    """Write ``vocab.json`` and ``merges.txt`` to ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chars = list(_bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars]
    merges: list[tuple[str, str]] = []
    for word in sorted(set(words), key=lambda w: (-len(w), w)):   # longer words' chains rank first
        for pair in _chain(word):
            if pair not in merges:
                merges.append(pair)
            merged = pair[0] + pair[1]
            if merged not in tokens:
                tokens.append(merged)
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab_path, merges_path = folder / "vocab.json", folder / "merges.txt"
    vocab_path.write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    merges_path.write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    return vocab_path, merges_path


def word_tokenizer(folder: str | os.PathLike, pad_token: str = "<|endoftext|>") -> Any:
    """A ``CLIPTokenizer`` (77 tokens) over the word vocabulary written to ``folder``."""
    from transformers import CLIPTokenizer

    write_word_vocab(folder)
    return CLIPTokenizer.from_pretrained(str(folder), model_max_length=77, pad_token=pad_token)
