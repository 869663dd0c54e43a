"""Making user-controlled strings safe to show and to record.

``mask_url`` hides the password of a URL (``user:***@host``) with the same code that masks database
URLs (SQLAlchemy's URL renderer); ``mask_secrets`` does it for every URL inside a longer text.
``printable`` turns control characters (terminal escape sequences, carriage returns) into visible
escapes; put the result in a ``rich.text.Text``, never in a markup string.
"""

from __future__ import annotations

import re

__all__ = ["mask_secrets", "mask_url", "printable"]

# scheme://user:password@  (the password ends at the last "@" before the host's "/", "?" or "#")
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^/?#@:\s]*):(?P<pw>[^/?#\s]*)@")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (unchanged when it has none)."""
    if "@" not in url:
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", url)
    if parsed.password is None:
        return url
    return parsed.render_as_string(hide_password=True)


def mask_secrets(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` in it replaced by ``***``."""
    if "@" not in text:
        return text
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


def printable(text: object) -> str:
    """``str(text)`` with control characters (ESC, CR, ...) shown as ``\\xNN`` escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
