"""The password policy: the one place that says which passwords are accepted.

Every way of setting a password (a new account, a reset's one-time password, the first
login's forced change, a later change) goes through :func:`check_password`. A password is
refused when, after Unicode NFKC normalisation, it has fewer than
:data:`settings.PASSWORD_MIN_LENGTH` visible characters (spaces, zero-width and other
invisible characters do not count), more than :data:`settings.PASSWORD_MAX_LENGTH`
characters, fewer than :data:`settings.PASSWORD_MIN_DISTINCT` different visible characters
(``aaaaaaaaaa``, ``ababababab``), when it is a run (``12345678901``, ``abcdefghijk``),
when it contains the user name, or when it is a common
password (:data:`settings.COMMON_PASSWORDS_FILE`) — also with digits or symbols before or
after it, upper case or l33t spellings (``Password12``, ``p@ssw0rd!``). Messages never echo
the password.
"""

from __future__ import annotations

import itertools
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Final

from tracing import settings
from tracing.errors import AccessError

_INVISIBLE: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me", "Zs", "Zl", "Zp"})
"""Unicode categories that are no character a reader sees (controls, format characters
such as the zero-width space, combining marks, separators)."""
_LEET: Final = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                              "@": "a", "$": "s", "!": "i", "+": "t"})
_EDGE: Final = "0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
"""Characters stripped from both ends before the common-password comparison."""


def visible(password: str) -> str:
    """The characters of ``password`` a reader sees, after NFKC normalisation."""
    return "".join(c for c in unicodedata.normalize("NFKC", password)
                   if not c.isspace() and unicodedata.category(c) not in _INVISIBLE)


@lru_cache(maxsize=1)
def common_passwords(path: Path = settings.COMMON_PASSWORDS_FILE) -> frozenset[str]:
    """The shipped list of common passwords, lower-case (``#`` lines are comments)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AccessError(f"cannot read the list of common passwords {path}: {exc}") from exc
    return frozenset(s.strip().lower() for s in lines if s.strip() and not s.startswith("#"))


def _is_common(password: str) -> bool:
    """Whether the password is on the list: as typed, without spaces, without the digits
    and symbols at its ends, with l33t spellings undone (lower-case throughout)."""
    text = unicodedata.normalize("NFKC", password).strip().lower()
    forms = {text, "".join(text.split())}
    forms |= {form.translate(_LEET) for form in forms}
    forms |= {form.strip(_EDGE) for form in forms}
    forms |= {form.translate(_LEET).strip(_EDGE) for form in forms}  # 'p@ssw0rd!'
    return not forms.isdisjoint(common_passwords())


def _is_run(text: str) -> bool:
    """Whether each character follows the previous by the same step (``1234567890``,
    ``abcdefghijk``, ``9876543210``; digits wrap from 9 to 0)."""
    if text.isdigit():
        steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(text)}
    else:
        steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return len(steps) == 1


def check_password(password: str, name: str) -> str:
    """The password if the policy accepts it; AccessError saying why not."""
    if len(password) > settings.PASSWORD_MAX_LENGTH:
        raise AccessError(f"the password must have at most {settings.PASSWORD_MAX_LENGTH} "
                          "characters")
    seen = visible(password)
    if len(seen) < settings.PASSWORD_MIN_LENGTH:
        raise AccessError(f"the password must have at least {settings.PASSWORD_MIN_LENGTH} "
                          "characters (spaces and invisible characters do not count)")
    if len(set(seen.lower())) < settings.PASSWORD_MIN_DISTINCT:
        raise AccessError(f"the password must have at least {settings.PASSWORD_MIN_DISTINCT} "
                          "different characters (not one character or a short pattern "
                          "repeated)")
    if _is_run(seen.lower()):
        raise AccessError("the password must not be a run of consecutive characters")
    if name and name.lower() in seen.lower():
        raise AccessError("the password must not contain the user name")
    if _is_common(password):
        raise AccessError("the password is a common one (or one with a few digits or "
                          "symbols added): choose a passphrase of your own")
    return password
