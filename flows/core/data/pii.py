"""Personal identifiers (the HIPAA Safe Harbor kinds a table is likely to hold), found by
column name and by what the values look like, so a policy can keep them from every model.

A name match is enough (a column called ``ssn`` is dropped even if it is empty); a value
match needs most present values of a text column to look like the identifier.
"""

from __future__ import annotations

import re

import pandas as pd

from flows.core.types import Exclusion

VALUE_SHARE = 0.8
SAMPLE_VALUES = 500
NAME_PATTERNS = {
    "personal name": r"^(full_?|first_?|last_?|middle_?|sur|given_?|patient_?|customer_?)?"
                     r"names?$",
    "e-mail address": r"e_?mail",
    "phone or fax number": r"phone|mobile|fax|tel(ephone)?$",
    "national ID number": r"^(ssn|sin|nin|social_?security(_?number)?|national_?id|passport"
                          r"(_?(no|number))?|tax_?id)$",
    "street address": r"(street|^address|home_?address|addr$|zip_?code|postcode|postal)",
    "exact date of birth": r"(^dob$|birth_?date|date_?of_?birth|birthday)",
    "record number": r"(^mrn$|medical_?record|record_?(no|number|id)|account_?(no|number)|"
                     r"patient_?id|member_?id|policy_?(no|number)|license_?(no|number))",
}
VALUE_PATTERNS = {  # most specific first: an ID number also looks like a phone number
    "e-mail address": r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$",
    "national ID number": r"^\d{3}-\d{2}-\d{4}$",
    "phone or fax number": r"^\+?\(?\d[\d\s().-]{6,}\d$",
    "street address": r"^\d+\s+[\w .'-]+\s(st|street|ave|avenue|rd|road|blvd|boulevard|ln|lane"
                      r"|dr|drive|ct|court|way|pl|place)\.?$",
}


def find_personal_identifiers(frame: pd.DataFrame) -> list[Exclusion]:
    """Columns that hold personal identifiers, each with the kind it holds."""
    found = []
    for column in frame.columns:
        kind = _by_name(str(column)) or _by_values(frame[column])
        if kind:
            found.append(Exclusion(str(column), f"personal identifier ({kind}): dropped by "
                                                "the slice's policy"))
    return found


def _by_name(name: str) -> str | None:
    lowered = name.lower().strip()
    return next((kind for kind, pattern in NAME_PATTERNS.items()
                 if re.search(pattern, lowered)), None)


def _by_values(values: pd.Series) -> str | None:
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return None
    present = values.dropna().astype(str).str.strip()
    if present.empty:
        return None
    sample = present.head(SAMPLE_VALUES).str.lower()
    return next((kind for kind, pattern in VALUE_PATTERNS.items()
                 if sample.str.match(pattern).mean() >= VALUE_SHARE), None)
