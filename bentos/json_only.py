"""Requests with a body must be JSON: anything else is answered 415 before BentoML parses it.

Found by schemathesis: a ``multipart/form-data`` body without a boundary made BentoML's own
request parsing answer 500.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ACCEPTED = (b"", b"application/json")


class JsonOnly:
    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            header = dict(scope["headers"]).get(b"content-type", b"")
            media_type = header.split(b";", 1)[0].strip().lower()
            if media_type not in ACCEPTED:
                body = json.dumps({"error": f"unsupported content type "
                                            f"{media_type.decode(errors='replace')!r}: send "
                                            f"application/json"}).encode()
                await send({"type": "http.response.start", "status": 415,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
