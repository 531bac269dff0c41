"""The tiny task set's repositories: three small pure-Python packages with tests,
written here (not fetched), so tests and first experiments run in seconds.

Each package is a dict ``relative path -> text``: the source package, a
``tests/`` folder (plain ``test_*`` functions with ``assert``; no pytest
configuration, as many small projects ship) and a ``pyproject.toml`` without a
``[tool.pytest]`` table. :func:`write_repo` materializes one.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["TINY_PACKAGES", "write_repo"]

_PYPROJECT = '[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'

_TEXTKIT_STRINGS = '''\
"""String helpers."""


def slugify(text, sep="-"):
    """Lower-case words of ``text`` joined by ``sep``; other characters dropped."""
    words = []
    current = ""
    for ch in text.lower():
        if ch.isalnum():
            current += ch
        elif current:
            words.append(current)
            current = ""
    if current:
        words.append(current)
    return sep.join(words)


def truncate(text, width, marker="..."):
    """``text`` cut to at most ``width`` characters, ending in ``marker`` when cut."""
    if len(text) <= width:
        return text
    keep = width - len(marker)
    if keep <= 0:
        return marker[:width]
    return text[:keep] + marker


def title_case(text, small=("a", "an", "the", "of", "and")):
    """Capitalize each word except small words that are not first."""
    out = []
    for i, word in enumerate(text.split()):
        if i > 0 and word.lower() in small:
            out.append(word.lower())
        else:
            out.append(word[:1].upper() + word[1:].lower())
    return " ".join(out)


def count_vowels(text):
    """Number of vowels (a, e, i, o, u) in ``text``, any case."""
    total = 0
    for ch in text.lower():
        if ch in "aeiou":
            total += 1
    return total
'''

_TEXTKIT_WRAP = '''\
"""Line wrapping and padding."""


def wrap(text, width):
    """Greedy word wrap: lines of at most ``width`` characters (longer words alone)."""
    lines = []
    line = ""
    for word in text.split():
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line = line + " " + word
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def pad_center(text, width, fill=" "):
    """``text`` centred in ``width`` characters; the extra fill goes right."""
    missing = width - len(text)
    if missing <= 0:
        return text
    left = missing // 2
    right = missing - left
    return fill * left + text + fill * right


def indent(lines, prefix, skip_first=False):
    """Each line with ``prefix`` in front (the first one too unless ``skip_first``)."""
    out = []
    for i, line in enumerate(lines):
        if i == 0 and skip_first:
            out.append(line)
        else:
            out.append(prefix + line)
    return out
'''

_TEXTKIT_TEST_STRINGS = """\
from textkit.strings import count_vowels, slugify, title_case, truncate


def test_slugify_words():
    assert slugify("Hello, World!") == "hello-world"


def test_slugify_separator_and_digits():
    assert slugify("  Route 66 -- east ", sep="_") == "route_66_east"


def test_slugify_empty():
    assert slugify("!!!") == ""


def test_truncate_short_text_unchanged():
    assert truncate("abc", 3) == "abc"


def test_truncate_adds_marker():
    assert truncate("abcdefgh", 6) == "abc..."
    assert len(truncate("abcdefgh", 6)) == 6


def test_truncate_tiny_width():
    assert truncate("abcdefgh", 2) == ".."


def test_title_case_small_words():
    assert title_case("the lord OF the rings") == "The Lord of the Rings"


def test_title_case_first_small_word():
    assert title_case("a tale of two cities") == "A Tale of Two Cities"


def test_count_vowels():
    assert count_vowels("Programming In Python") == 5
    assert count_vowels("rhythm") == 0
"""

_TEXTKIT_TEST_WRAP = """\
from textkit.wrap import indent, pad_center, wrap


def test_wrap_fits_width():
    assert wrap("the quick brown fox jumps", 10) == ["the quick", "brown fox", "jumps"]


def test_wrap_exact_width():
    assert wrap("aaaa bbbb", 9) == ["aaaa bbbb"]


def test_wrap_long_word_alone():
    assert wrap("a verylongword b", 5) == ["a", "verylongword", "b"]


def test_wrap_empty():
    assert wrap("", 5) == []


def test_pad_center_even():
    assert pad_center("ab", 6, ".") == "..ab.."


def test_pad_center_odd_extra_right():
    assert pad_center("ab", 5, ".") == ".ab.."


def test_pad_center_no_room():
    assert pad_center("abcdef", 3) == "abcdef"


def test_indent_all():
    assert indent(["a", "b"], "> ") == ["> a", "> b"]


def test_indent_skip_first():
    assert indent(["a", "b", "c"], "  ", skip_first=True) == ["a", "  b", "  c"]
"""

_STATKIT_SUMMARY = '''\
"""Summary statistics over plain lists."""


def mean(values):
    """Arithmetic mean; ``ValueError`` on an empty list."""
    if not values:
        raise ValueError("mean of an empty list")
    return sum(values) / len(values)


def median(values):
    """Middle value of the sorted list (mean of the two middle ones when even)."""
    if not values:
        raise ValueError("median of an empty list")
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    if n % 2 == 1:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def variance(values, sample=False):
    """Population variance (``sample=True``: divide by n - 1)."""
    n = len(values)
    if n < 2 and sample:
        raise ValueError("sample variance needs at least two values")
    m = mean(values)
    total = 0.0
    for v in values:
        total += (v - m) ** 2
    return total / (n - 1 if sample else n)


def value_range(values):
    """Largest minus smallest value."""
    return max(values) - min(values)
'''

_STATKIT_BINS = '''\
"""Counting and binning."""


def histogram(values, lo, hi, bins):
    """Counts of ``values`` in ``bins`` equal bins over [lo, hi); others ignored."""
    counts = [0] * bins
    width = (hi - lo) / bins
    for v in values:
        if lo <= v < hi:
            index = int((v - lo) // width)
            counts[index] += 1
    return counts


def clamp(x, lo, hi):
    """``x`` limited to [lo, hi]."""
    if lo > hi:
        raise ValueError("lo must not exceed hi")
    return max(lo, min(x, hi))


def running_total(values):
    """Prefix sums: [v0, v0 + v1, ...]."""
    out = []
    total = 0
    for v in values:
        total += v
        out.append(total)
    return out


def top_k(counts, k):
    """The ``k`` keys with the largest counts, ties broken by key."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [key for key, _ in ranked[:k]]
'''

_STATKIT_TEST_SUMMARY = """\
import pytest

from statkit.summary import mean, median, value_range, variance


def test_mean():
    assert mean([1, 2, 3, 4]) == 2.5


def test_mean_empty_raises():
    with pytest.raises(ValueError):
        mean([])


def test_median_odd():
    assert median([5, 1, 3]) == 3


def test_median_even():
    assert median([4, 1, 3, 2]) == 2.5


def test_variance_population():
    assert variance([2, 4, 4, 4, 5, 5, 7, 9]) == 4.0


def test_variance_sample():
    assert variance([1, 2, 3, 4], sample=True) == pytest.approx(1.6666666, rel=1e-6)


def test_variance_sample_needs_two():
    with pytest.raises(ValueError):
        variance([1], sample=True)


def test_value_range():
    assert value_range([3, -2, 7, 0]) == 9
"""

_STATKIT_TEST_BINS = """\
import pytest

from statkit.bins import clamp, histogram, running_total, top_k


def test_histogram_basic():
    assert histogram([0, 1, 2, 3, 9.5], 0, 10, 5) == [2, 2, 0, 0, 1]


def test_histogram_ignores_outside():
    assert histogram([-1, 10, 5], 0, 10, 2) == [0, 1]


def test_clamp_inside_and_edges():
    assert clamp(5, 0, 10) == 5
    assert clamp(-3, 0, 10) == 0
    assert clamp(12, 0, 10) == 10


def test_clamp_bad_bounds():
    with pytest.raises(ValueError):
        clamp(1, 5, 0)


def test_running_total():
    assert running_total([1, 2, 3, 4]) == [1, 3, 6, 10]


def test_top_k_ties_by_key():
    assert top_k({"b": 2, "a": 2, "c": 5, "d": 1}, 3) == ["c", "a", "b"]
"""

_INVENTORY_STOCK = '''\
"""A small stock ledger."""


class Stock:
    """Quantities per item, with a floor that removals may not cross."""

    def __init__(self, floor=0):
        self.floor = floor
        self.items = {}

    def add(self, item, qty):
        """Add ``qty`` (> 0) of ``item``; returns the new quantity."""
        if qty <= 0:
            raise ValueError("qty must be positive")
        self.items[item] = self.items.get(item, 0) + qty
        return self.items[item]

    def remove(self, item, qty):
        """Remove ``qty`` of ``item``; ``ValueError`` if it would go below the floor."""
        have = self.items.get(item, 0)
        if have - qty < self.floor:
            raise ValueError(f"not enough {item}")
        self.items[item] = have - qty
        return self.items[item]

    def total(self):
        """Sum of all quantities."""
        return sum(self.items.values())

    def low(self, threshold):
        """Items whose quantity is at most ``threshold``, sorted."""
        return sorted(name for name, q in self.items.items() if q <= threshold)
'''

_INVENTORY_PRICING = '''\
"""Prices, discounts and invoices (amounts in cents)."""


def apply_discount(cents, percent):
    """``cents`` minus ``percent`` %, rounded down to a cent; percent in [0, 100]."""
    if percent < 0 or percent > 100:
        raise ValueError("percent must be within [0, 100]")
    return cents * (100 - percent) // 100


def bulk_price(unit_cents, qty, bulk_from=10, bulk_percent=5):
    """Total for ``qty`` units; from ``bulk_from`` units on, ``bulk_percent`` % off."""
    total = unit_cents * qty
    if qty >= bulk_from:
        total = apply_discount(total, bulk_percent)
    return total


def invoice_lines(order, prices):
    """``(item, qty, line total)`` for each item of ``order`` (a dict), sorted by item."""
    lines = []
    for item in sorted(order):
        qty = order[item]
        lines.append((item, qty, bulk_price(prices[item], qty)))
    return lines


def split_evenly(cents, parts):
    """``cents`` split into ``parts`` amounts that differ by at most one cent; larger first."""
    base, extra = divmod(cents, parts)
    return [base + 1 if i < extra else base for i in range(parts)]
'''

_INVENTORY_TEST_STOCK = """\
import pytest

from inventory.stock import Stock


def test_add_accumulates():
    s = Stock()
    s.add("bolt", 3)
    assert s.add("bolt", 2) == 5


def test_add_rejects_zero():
    with pytest.raises(ValueError):
        Stock().add("nut", 0)


def test_remove_down_to_floor():
    s = Stock(floor=1)
    s.add("gear", 4)
    assert s.remove("gear", 3) == 1
    with pytest.raises(ValueError):
        s.remove("gear", 1)


def test_total():
    s = Stock()
    s.add("a", 2)
    s.add("b", 5)
    assert s.total() == 7


def test_low():
    s = Stock()
    for name, q in (("x", 1), ("y", 3), ("z", 2), ("w", 9)):
        s.add(name, q)
    assert s.low(2) == ["x", "z"]
"""

_INVENTORY_TEST_PRICING = """\
import pytest

from inventory.pricing import apply_discount, bulk_price, invoice_lines, split_evenly


def test_apply_discount():
    assert apply_discount(1000, 15) == 850
    assert apply_discount(999, 10) == 899


def test_apply_discount_bounds():
    assert apply_discount(500, 0) == 500
    assert apply_discount(500, 100) == 0
    with pytest.raises(ValueError):
        apply_discount(500, 101)


def test_bulk_price_threshold():
    assert bulk_price(100, 9) == 900
    assert bulk_price(100, 10) == 950


def test_invoice_lines_sorted():
    assert invoice_lines({"b": 2, "a": 10}, {"a": 100, "b": 30}) == [("a", 10, 950), ("b", 2, 60)]


def test_split_evenly():
    assert split_evenly(10, 3) == [4, 3, 3]
    assert sum(split_evenly(101, 4)) == 101
"""

TINY_PACKAGES: dict[str, dict[str, str]] = {
    "textkit": {
        "pyproject.toml": _PYPROJECT.format(name="textkit"),
        "textkit/__init__.py": '"""Text helpers."""\n',
        "textkit/strings.py": _TEXTKIT_STRINGS,
        "textkit/wrap.py": _TEXTKIT_WRAP,
        "tests/test_strings.py": _TEXTKIT_TEST_STRINGS,
        "tests/test_wrap.py": _TEXTKIT_TEST_WRAP,
    },
    "statkit": {
        "pyproject.toml": _PYPROJECT.format(name="statkit"),
        "statkit/__init__.py": '"""Small statistics."""\n',
        "statkit/summary.py": _STATKIT_SUMMARY,
        "statkit/bins.py": _STATKIT_BINS,
        "tests/test_summary.py": _STATKIT_TEST_SUMMARY,
        "tests/test_bins.py": _STATKIT_TEST_BINS,
    },
    "inventory": {
        "pyproject.toml": _PYPROJECT.format(name="inventory"),
        "inventory/__init__.py": '"""Stock and pricing."""\n',
        "inventory/stock.py": _INVENTORY_STOCK,
        "inventory/pricing.py": _INVENTORY_PRICING,
        "tests/test_stock.py": _INVENTORY_TEST_STOCK,
        "tests/test_pricing.py": _INVENTORY_TEST_PRICING,
    },
}


def write_repo(files: dict[str, str], root: str | Path) -> Path:
    """Write ``files`` under ``root`` (created); returns ``root``."""
    root = Path(root)
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root
