"""Template, subscribe and customer-service (客服) messages: validated like WeChat's, then
recorded (not delivered) so tests and the `/_sim/` page can see what a user would have
received."""

from __future__ import annotations

import itertools

from .clock import now
from .errors import WeChatApiError
from .oauth import require_app_token
from .state import SimulatorState


class MessageService:
    def __init__(self, state: SimulatorState):
        self.state = state
        self._msgids = itertools.count(1000000001)

    def send(self, kind: str, access_token: str | None, body: object) -> dict:
        """Record one message sent with an app access token; answer as WeChat does."""
        appid = require_app_token(self.state, access_token)
        if not isinstance(body, dict):
            raise WeChatApiError(47001, "data format error")
        template_id = body.get("template_id")
        if not isinstance(template_id, str) or not template_id:
            raise WeChatApiError(40037, "invalid template_id")
        if not isinstance(body.get("data"), dict):
            raise WeChatApiError(47003, "argument invalid! data is empty")
        with self.state.lock:
            user = self.state.directory.user_by_openid(appid, body.get("touser"))
            if user is None:
                raise WeChatApiError(40003, "invalid openid")
            msgid = next(self._msgids)
            self.state.messages.append(
                {
                    "msgid": msgid,
                    "kind": kind,
                    "appid": appid,
                    "touser": body["touser"],
                    "user": user.key,
                    "template_id": template_id,
                    "data": body["data"],
                    "url": body.get("url"),
                    "page": body.get("page"),
                    "miniprogram": body.get("miniprogram"),
                    "time": now().isoformat(timespec="seconds"),
                }
            )
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def send_custom(self, access_token: str | None, body: object) -> dict:
        """`/cgi-bin/message/custom/send`: a customer-service message. Text only, as the
        platform sends; other msgtypes are refused like an unknown type. WeChat answers
        no msgid for these; the record gets one so tests can tell messages apart."""
        appid = require_app_token(self.state, access_token)
        if not isinstance(body, dict):
            raise WeChatApiError(47001, "data format error")
        if body.get("msgtype") != "text":
            raise WeChatApiError(40008, "invalid message type")
        text = body.get("text")
        content = text.get("content") if isinstance(text, dict) else None
        if not isinstance(content, str) or not content.strip():
            raise WeChatApiError(44003, "empty news data")
        if len(content.encode()) > 2048:
            raise WeChatApiError(45002, "content size out of limit")
        with self.state.lock:
            user = self.state.directory.user_by_openid(appid, body.get("touser"))
            if user is None:
                raise WeChatApiError(40003, "invalid openid")
            msgid = next(self._msgids)
            self.state.messages.append(
                {
                    "msgid": msgid,
                    "kind": "custom",
                    "appid": appid,
                    "touser": body["touser"],
                    "user": user.key,
                    "msgtype": "text",
                    "content": content,
                    "data": {"text": {"content": content}},
                    "time": now().isoformat(timespec="seconds"),
                }
            )
        return {"errcode": 0, "errmsg": "ok"}

    def all(self) -> list[dict]:
        with self.state.lock:
            return list(self.state.messages)
