"""How the report writes numbers and names, in one place (the tests format expected values with it)."""
import math


def ms(x):
    """Milliseconds with four significant digits: 0.1234, 12.34, 1234."""
    if x is None or not math.isfinite(x):
        return "—"
    if x >= 1000:
        return f"{x:.0f}"
    return f"{x:.4g}"


def num(x, digits=3):
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:.{digits}g}"


def percent(fraction, digits=1):
    if fraction is None or not math.isfinite(fraction):
        return "—"
    return f"{100 * fraction:.{digits}f} %"


def sci(x):
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:.2e}"


def tokens(n):
    """A token count the way the options take it: 4096 -> 4K, 1048576 -> 1M (K = 1024)."""
    n = int(n)
    for unit, size in (("M", 1 << 20), ("K", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def bytes_(n):
    """Bytes in binary units: 1.50 GiB, 12.0 MiB."""
    if n is None or not math.isfinite(n):
        return "—"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def rate(x):
    """Large rates compactly: 1.23e+06 -> 1.23 M."""
    if x is None or not math.isfinite(x):
        return "—"
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= size:
            return f"{x / size:.3g} {unit}"
    return f"{x:.3g}"
