"""Email addresses in the one form the mail system delivers to, so that one mailbox is one account.

- Unicode NFKC: look-alike characters (the long s, the Kelvin sign, fullwidth letters) become the letters they look
  like.
- The part before the @ without needless quoting: ``"admin"@shop.test`` and ``"ad\\min"@shop.test`` are the mailbox
  ``admin@shop.test`` (RFC 5321 §4.1.2: a quoted string and the dot-atom it spells are the same local part). A local
  part that needs its quotes (``"john\\ doe"``) keeps them, written with the same escapes whatever was typed. Its
  case is kept: only the receiving server may fold it, and the ``LOWER(email)`` unique constraint already treats
  case as one account.
- The domain in lower case and in its ASCII form (IDNA 2008 with the UTS #46 mapping, as browsers and registries
  resolve it: ``bücher.example`` → ``xn--bcher-kva.example``, ``straße.de`` → ``xn--strae-oqa.de``). ASCII because
  it is the form DNS and SMTP carry (without SMTPUTF8 the only one), what Django's mail sending writes anyway, and
  because SQLite's ``LOWER()`` folds ASCII only: with every stored address ASCII, the unique constraint and the
  lookups compare alike on SQLite and PostgreSQL. IDNA 2008 rather than Python's own codec (IDNA 2003), which maps
  ``straße.de`` to ``strasse.de``, another domain.
"""

from __future__ import annotations

import re
import unicodedata

import idna

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*\Z")
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
# Characters a quoted local part writes as a quoted pair: the quote and the backslash (RFC 5321), and the space and
# the tab, which Django's EmailValidator accepts only escaped.
_NEEDS_ESCAPE = re.compile(r'(["\\ \t])')


def canonical_local_part(local: str) -> str:
    """The part before the @ unquoted when its quotes are needless, else quoted with only the escapes it needs."""
    if len(local) < 2 or local[0] != '"' or local[-1] != '"':
        return local
    content = _QUOTED_PAIR.sub(r"\1", local[1:-1])
    if _DOT_ATOM.match(content):
        return content
    return '"' + _NEEDS_ESCAPE.sub(r"\\\1", content) + '"'


def ascii_domain(domain: str) -> str:
    """The domain in lower case and ASCII (A-labels). Raises ValueError for a name IDNA 2008 does not allow."""
    domain = domain.lower()
    if domain.isascii() and "xn--" not in domain:
        return domain  # plain host names: nothing to map (and IDNA's stricter label rules are the validator's job)
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise ValueError(f"{domain!r} is not a valid internationalised domain name: {exc}") from exc


def normalize_email(email: str | None) -> str:
    """The address in the form above. Never raises: a domain that cannot be encoded is kept in lower case (the
    registration's validators then refuse it; a lookup simply finds nobody)."""
    email = unicodedata.normalize("NFKC", email or "").strip()
    local, at, domain = email.rpartition("@")
    if not at:
        return email
    try:
        domain = ascii_domain(domain)
    except ValueError:
        domain = domain.lower()
    return f"{canonical_local_part(local)}@{domain}"


def is_address_literal(email: str) -> bool:
    """``a@[127.0.0.1]``: an IP address in brackets instead of a domain name."""
    return email.rpartition("@")[2].startswith("[")
