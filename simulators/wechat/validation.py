"""Field checks for API v3 request bodies and query strings.

WeChat answers a malformed field with 400 PARAM_ERROR naming the field by its JSON path
(`/amount/total`); `Fields` reads one object and raises exactly that. String limits count
UTF-8 bytes, as WeChat's `string(N)` limits do."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

from .errors import param_error


class Fields:
    """One JSON object (or query string) of a request, read field by field."""

    def __init__(self, data: object, prefix: str = "", location: str = "body"):
        if not isinstance(data, dict):
            raise param_error(prefix or "/", "应为JSON对象", location)
        self.data = data
        self.prefix = prefix
        self.location = location

    def _path(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def _error(self, name: str, issue: str):
        return param_error(self._path(name), issue, self.location)

    def _get(self, name: str, required: bool):
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise self._error(name, "此字段为必填项")
            return None
        return value

    def text(
        self,
        name: str,
        *,
        required: bool = True,
        max_bytes: int | None = None,
        pattern: re.Pattern | None = None,
        choices: tuple[str, ...] | None = None,
    ) -> str | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._error(name, "应为字符串")
        if max_bytes is not None and len(value.encode()) > max_bytes:
            raise self._error(name, f"字节数 {len(value.encode())}，大于最大值 {max_bytes}")
        if pattern is not None and not pattern.fullmatch(value):
            raise self._error(name, "格式不正确")
        if choices is not None and value not in choices:
            raise self._error(name, f"取值应为 {'|'.join(choices)} 之一")
        return value

    def integer(
        self, name: str, *, required: bool = True, minimum: int | None = None
    ) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._error(name, "应为整数")
        if minimum is not None and value < minimum:
            raise self._error(name, f"应不小于 {minimum}")
        return value

    def boolean(self, name: str, *, required: bool = False) -> bool | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise self._error(name, "此字段为必填项")
            return None
        if not isinstance(value, bool):
            raise self._error(name, "应为布尔值")
        return value

    def obj(self, name: str, *, required: bool = True) -> Fields | None:
        value = self._get(name, required)
        if value is None:
            return None
        return Fields(value, self._path(name), self.location)

    def array(self, name: str, *, required: bool = True, max_items: int | None = None) -> list:
        value = self._get(name, required)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._error(name, "应为数组")
        if required and not value:
            raise self._error(name, "数组不能为空")
        if max_items is not None and len(value) > max_items:
            raise self._error(name, f"元素个数 {len(value)}，大于最大值 {max_items}")
        return value

    def notify_url(self, name: str = "notify_url", *, required: bool = True) -> str | None:
        """An http(s) URL with a host and no query string. WeChat demands https; the
        simulator also takes http so a merchant on localhost can receive callbacks."""
        value = self.text(name, required=required, max_bytes=256)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self._error(name, "应为 https:// 开头的完整URL")
        if parts.query or parts.fragment:
            raise self._error(name, "不能携带参数")
        return value

    def timestamp(self, name: str, *, required: bool = False) -> datetime | None:
        """An RFC 3339 time with an offset, e.g. 2018-06-08T10:34:56+08:00."""
        value = self.text(name, required=required, max_bytes=64)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self._error(name, "应为RFC3339格式的时间") from None
        if moment.tzinfo is None:
            raise self._error(name, "应为RFC3339格式的时间，须带时区")
        return moment
