"""How imported text is shown: header values keep the control characters they were sent with, and a page
shows each one as its Unicode control picture (U+2400–U+2421), never as an invisible or layout-changing byte."""

_CONTROL_PICTURES = {code: 0x2400 + code for code in range(0x20)} | {0x7F: 0x2421}


def visible_controls(text: str) -> str:
    return text.translate(_CONTROL_PICTURES)
