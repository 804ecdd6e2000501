"""Log-axis tick labels as plain text: the labels matplotlib's mathtext would show."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.ticker import LogFormatterSciNotation  # noqa: E402

from study.plots import UnicodeLogFormatter, _log_scale  # noqa: E402


@pytest.mark.parametrize(("lo", "hi"), [(3e-7, 2e-5), (0.5, 2000.0), (2.2e-6, 8.5e-6),
                                        (1e-40, 1e40)])
def test_labels_are_mathtext_labels_as_text(lo: float, hi: float) -> None:
    fig, ax = plt.subplots()
    _log_scale(ax)
    ax.set_ylim(lo, hi)
    fig.canvas.draw()
    ours = [t.get_text() for t in ax.get_yticklabels() + ax.get_yticklabels(minor=True)]
    ax.yaxis.set_major_formatter(LogFormatterSciNotation(10.0))
    ax.yaxis.set_minor_formatter(LogFormatterSciNotation(10.0, labelOnlyBase=False))
    fig.canvas.draw()
    theirs = [t.get_text() for t in ax.get_yticklabels() + ax.get_yticklabels(minor=True)]
    plt.close(fig)
    assert len(ours) == len(theirs) and any(ours)
    for a, b in zip(ours, theirs, strict=True):
        assert "$" not in a                       # no mathtext left to parse
        plain = (b.replace("$\\mathdefault{", "").replace("}$", "").replace("\\times", "×")
                 .replace("^{", "^").replace("}", ""))
        expect = plain.split("^")[0] + "".join(
            "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"["0123456789-".index(c)] for c in plain.split("^")[1]
        ) if "^" in plain else plain
        assert a == expect


def test_known_labels() -> None:
    fig, ax = plt.subplots()
    _log_scale(ax)
    ax.set_ylim(2.2e-6, 8.5e-6)       # under a decade: minor ticks labelled too
    fig.canvas.draw()
    major = [t.get_text() for t in ax.get_yticklabels()]
    minor = [t.get_text() for t in ax.get_yticklabels(minor=True)]
    plt.close(fig)
    assert "10⁻⁵" in major and "10⁻⁶" in major
    assert {"3×10⁻⁶", "4×10⁻⁶"} <= set(minor)
    assert isinstance(ax.yaxis.get_major_formatter(), UnicodeLogFormatter)
