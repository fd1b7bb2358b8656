"""Human durations ("10m", "1h30m", "500ms") as float seconds.

Pipeline authors write timeouts the way CI tools have taught them to; the engine wants seconds.
"""

from __future__ import annotations

import re

_UNITS: dict[str, float] = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
# Units in decreasing order, each at most once: "1h30m" yes, "30m1h" and "1m1m" no.
_DURATION = re.compile(
    r"^(?:(?P<d>\d+(?:\.\d+)?)\s*d\s*)?"
    r"(?:(?P<h>\d+(?:\.\d+)?)\s*h\s*)?"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*m(?!s)\s*)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)\s*s\s*)?"
    r"(?:(?P<ms>\d+(?:\.\d+)?)\s*ms\s*)?$"
)
_PLAIN_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


def parse_duration(value: str | int | float) -> float:
    """Return the duration in seconds; plain numbers are seconds.

    Raises ValueError (with the accepted forms in the message) for anything else, including
    negative numbers and booleans, so validation can show it to the user as is.
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}: expected e.g. 30s, 10m, 1h30m, 500ms")
    if isinstance(value, int | float):
        if value < 0 or value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"invalid duration {value!r}: must be a non-negative number of seconds")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"invalid duration {value!r}: expected a string such as 10m")
    text = value.strip()
    if _PLAIN_NUMBER.match(text):
        return float(text)
    match = _DURATION.match(text)
    if not text or match is None or not any(match.groupdict().values()):
        raise ValueError(
            f"invalid duration {value!r}: expected a number of seconds or units in decreasing "
            "order, e.g. 30s, 10m, 1h30m, 2d, 500ms"
        )
    return sum(float(amount) * _UNITS[unit] for unit, amount in match.groupdict().items() if amount)
