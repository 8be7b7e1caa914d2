"""Talking to a SendSms gateway over HTTP, with retries and exponential backoff."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass


class SmsError(Exception):
    """The gateway refused or could not be reached; ``retryable`` says whether to try again."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class SmsRequest:
    phones: tuple[str, ...]
    sign_name: str
    template_code: str
    params: dict[str, str]
    out_id: str


#: Codes of the cloud APIs that mean "try again later"; any other non-OK code is final
#: (a bad number, an unapproved template...).
RETRYABLE_CODES = {"isp.SYSTEM_ERROR", "isv.BUSINESS_LIMIT_CONTROL", "Throttling",
                   "ServiceUnavailable"}


def send(url: str, req: SmsRequest, access_key: str = "", timeout: float = 3.0) -> str:
    """One SendSms call; returns the gateway's BizId."""
    body = urllib.parse.urlencode({
        "Action": "SendSms", "Version": "2017-05-25", "AccessKeyId": access_key,
        "PhoneNumbers": ",".join(req.phones), "SignName": req.sign_name,
        "TemplateCode": req.template_code,
        "TemplateParam": json.dumps(req.params, ensure_ascii=False), "OutId": req.out_id,
    }).encode()
    http = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(http, timeout=timeout) as resp:
            data = json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        try:
            data = json.loads(exc.read().decode("utf-8"))
        except ValueError:
            raise SmsError(f"HTTP {exc.code}", retryable=exc.code >= 500) from exc
        code = str(data.get("Code", exc.code))
        raise SmsError(f"{code}: {data.get('Message', '')}",
                       retryable=exc.code >= 500 or code in RETRYABLE_CODES) from exc
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        raise SmsError(f"gateway unreachable: {exc}", retryable=True) from exc
    code = str(data.get("Code", ""))
    if code != "OK":
        raise SmsError(f"{code}: {data.get('Message', '')}", retryable=code in RETRYABLE_CODES)
    return str(data.get("BizId", ""))


def send_with_retries(url: str, req: SmsRequest, *, retries: int, backoff: float,
                      access_key: str = "", timeout: float = 3.0,
                      sleep: Callable[[float], None] = time.sleep) -> tuple[str, int]:
    """Send, retrying retryable failures after backoff, 2×backoff, 4×backoff...

    Returns (BizId, attempts); raises the last ``SmsError`` (with ``attempts`` set) when it
    gives up.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return send(url, req, access_key, timeout), attempt
        except SmsError as exc:
            if not exc.retryable or attempt > retries:
                exc.attempts = attempt  # type: ignore[attr-defined]
                raise
            sleep(backoff * 2 ** (attempt - 1))
