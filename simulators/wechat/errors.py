"""The two error shapes WeChat uses, as exceptions the services raise and the app renders."""

from __future__ import annotations


class ApiError(Exception):
    """A WeChat Pay API v3 error: an HTTP status and a `{"code", "message"}` body,
    with `detail` when the error is about one field (as PARAM_ERROR answers carry)."""

    def __init__(self, status: int, code: str, message: str, detail: dict | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def body(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.detail:
            body["detail"] = self.detail
        return body


class WeChatApiError(Exception):
    """An error of the official-account / mini-program APIs: HTTP 200 with errcode/errmsg."""

    def __init__(self, errcode: int, errmsg: str):
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    def body(self) -> dict:
        return {"errcode": self.errcode, "errmsg": self.errmsg}


def param_error(field: str, issue: str, location: str = "body") -> ApiError:
    """400 PARAM_ERROR naming the field the way WeChat does (`/amount/total`)."""
    return ApiError(
        400,
        "PARAM_ERROR",
        f"输入源“/{location}{field}”校验失败: {issue}",
        {"field": field, "location": location, "issue": issue},
    )


def invalid_request(message: str) -> ApiError:
    """400 INVALID_REQUEST: the fields are well formed but the request conflicts with state."""
    return ApiError(400, "INVALID_REQUEST", message)


def not_found(message: str, code: str = "RESOURCE_NOT_EXISTS") -> ApiError:
    return ApiError(404, code, message)
