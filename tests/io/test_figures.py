"""io.figures: control characters from users' labels never reach matplotlib's text drawing."""

from __future__ import annotations

import warnings

from hepatostat.io.figures import clean_figure_text, new_figure, png_bytes, save_figure


def _figure(label):
    fig, axes = new_figure(3, 2)
    ax = axes[0][0]
    ax.plot([0, 1], [0, 1], label=label)
    ax.set_yticks([0, 1], [label, "Smith 2001"])
    ax.legend()
    return fig


def test_control_characters_become_the_replacement_character(tmp_path):
    bad = "Aronson\x07 1948\x0b"
    fig = _figure(bad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph 7 missing" would be a UserWarning
        png_bytes(fig, dpi=50)
        save_figure(fig, tmp_path / "f", formats=("png", "svg"), dpi=50)
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    texts += [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "Aronson\ufffd 1948\ufffd" in texts
    assert not any(isinstance(t, str) and ("\x07" in t or "\x0b" in t) for t in texts)
    assert "Smith 2001" in texts  # ordinary labels untouched


def test_clean_labels_are_left_alone():
    fig = _figure("line one\nline two")
    assert clean_figure_text(fig) == 0
