"""The control plane's JSON response: rendering it cannot fail.

Starlette's `JSONResponse` raises `UnicodeEncodeError` on a string UTF-8 cannot encode (a lone
surrogate), which turned one bad stored value into a 500 for every reader. Bodies are checked when
parsed and the store refuses such strings, so this is the last line: whatever is rendered, the
response goes out, with U+FFFD where a character could not be encoded.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from maas.core.jsontext import dumps


class ArmResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content)
