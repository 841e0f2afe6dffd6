"""Groups for fairness audits: age bands and priority groups of workers.

Owns: the age bands (`AGE_BANDS`, `age_band`) and the labels of priority groups
(`group_label`), used by `explain`, `whatif` and `fairness` so they group alike.

Invariants: age is whole years at the local (UTC+8) year of the decision, from the
recorded birth year (the ID number's, when one was given); the band edges put the
national default of 大龄 (older workers, `Policy.older_age` = 50) on a band edge.
Gender, ethnicity and household registration are not in the log and never grouped on.

Limits: a birth year of 0 (unknown) falls in "unknown".
"""

from __future__ import annotations

AGE_BANDS: tuple[str, ...] = ("<30", "30-39", "40-49", "50-59", "60+", "unknown")
PRIORITY_LABELS: dict[str, str] = {"": "none"}


def age_band(age_years: int) -> str:
    """The band of an age in whole years."""
    if age_years <= 0 or age_years > 120:
        return "unknown"
    if age_years < 30:
        return "<30"
    if age_years >= 60:
        return "60+"
    low = age_years // 10 * 10
    return f"{low}-{low + 9}"


def group_label(priority_group: str) -> str:
    """A printable label for a priority group ("" -> "none")."""
    return PRIORITY_LABELS.get(priority_group, priority_group)


def band_order(band: str) -> int:
    return AGE_BANDS.index(band) if band in AGE_BANDS else len(AGE_BANDS)
