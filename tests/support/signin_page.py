"""Reading the sign-in page as a browser would: the first form's action and its fields, and the
`role="alert"` message. Used by the integration tests and by `contract/browser_helper.py` (the BROWSER
helper of the InteractiveBrowserCredential contract test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["Form", "read_page"]


@dataclass
class Form:
    action: str = ""
    method: str = "get"
    fields: dict[str, str] = field(default_factory=dict)
    alert: str = ""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form: Form | None = None
        self.alert: list[str] = []
        self._in_alert = False
        self._forms = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if found.get("role") == "alert":
            self._in_alert = True
        if tag == "form":
            self._forms += 1
            if self._forms == 1:
                self.form = Form(found.get("action", ""), found.get("method", "get").lower())
        elif tag == "input" and self.form is not None and self._forms == 1 and "name" in found:
            self.form.fields[found["name"]] = found.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._in_alert = False

    def handle_data(self, data: str) -> None:
        if self._in_alert:
            self.alert.append(data)


def read_page(html: str) -> Form:
    reader = _Reader()
    reader.feed(html)
    form = reader.form or Form()
    form.alert = "".join(reader.alert).strip()
    return form
