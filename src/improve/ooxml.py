"""The text rules of Office Open XML cells, shared by the workbook writers and readers.

XML 1.0 cannot hold most C0 controls, the surrogates, U+FFFE or U+FFFF. Excel and
LibreOffice also read `_xHHHH_` in a cell as the character U+HHHH (that is how Excel saves
a control character), so a ticket subject holding the literal text `_x000D_` would show as a
line break unless its underscore is written as `_x005F_`. openpyxl does neither: it writes
and reads the stored text as is.
"""

from __future__ import annotations

import re

from openpyxl.utils.escape import unescape

# openpyxl's own ILLEGAL_CHARACTERS_RE misses U+FFFE, U+FFFF and the surrogates, and one of
# them in a cell (or the document title) leaves a file neither Excel nor openpyxl opens.
XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPE_LIKE = re.compile("_(?=x[0-9A-Fa-f]{4}_)")


def xml_text(value: str) -> str:
    """`value` without the characters XML cannot hold."""
    return XML_ILLEGAL.sub("", value)


def stored_text(text: str) -> str:
    """What to store in a cell so that Excel and LibreOffice show `text` (XML-safe text):
    the underscore of anything shaped like `_xHHHH_` escaped as `_x005F_`."""
    return _ESCAPE_LIKE.sub("_x005F_", text) if "_x" in text else text


def shown_text(stored: str) -> str:
    """The text Excel shows for a cell's stored string: `_xHHHH_` decoded, and what the
    decoding gives that XML text cannot hold (a NUL, say) dropped, as Excel shows nothing."""
    return xml_text(unescape(stored)) if "_x" in stored else stored
