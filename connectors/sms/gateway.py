"""A simulated SMS gateway shaped like the cloud SendSms APIs (DOMAIN.md §9).

``POST /`` with ``Action=SendSms``, ``PhoneNumbers`` (comma-separated, at most 1000),
``SignName``, ``TemplateCode``, ``TemplateParam`` (a JSON object) and ``OutId`` answers
``{"Code": "OK", "BizId": ..., "RequestId": ...}``; refusals use the cloud's codes. A configurable
share of requests fails (``isp.SYSTEM_ERROR`` with HTTP 503, or throttling) so that retries are
exercised. ``GET /messages`` lists what was accepted (the simulator's own window for tests and
the demo). Run it with ``portal sms gateway --port 0``: it prints the URL it listens on.
"""

from __future__ import annotations

import json
import random
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server

MOBILE = re.compile(r"^(\+?86)?1[3-9]\d{9}$")
MAX_NUMBERS = 1000


@dataclass
class GatewayState:
    failure_rate: float = 0.0
    rng: random.Random = field(default_factory=random.Random)
    messages: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    failures: int = 0
    approved_signs: set[str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def create_gateway(failure_rate: float = 0.0, seed: int | None = None,
                   approved_signs: set[str] | None = None) -> Flask:
    app = Flask("sms_gateway")
    state = GatewayState(failure_rate=failure_rate, rng=random.Random(seed),
                         approved_signs=approved_signs)
    app.extensions["sms_gateway"] = state

    def refuse(code: str, message: str, status: int = 400) -> Any:
        return jsonify(RequestId=str(uuid.uuid4()), Code=code, Message=message), status

    @app.post("/")
    def send_sms() -> Any:
        f = request.form if request.form else (request.get_json(silent=True) or {})
        with state.lock:
            state.requests += 1
            failing = state.rng.random() < state.failure_rate
            if failing:
                state.failures += 1
        if f.get("Action") != "SendSms":
            return refuse("InvalidAction.NotFound", "only SendSms is simulated")
        if failing:
            if state.rng.random() < 0.5:
                return refuse("isp.SYSTEM_ERROR", "simulated gateway failure", 503)
            return refuse("isv.BUSINESS_LIMIT_CONTROL", "simulated throttling", 200)
        phones = [p.strip() for p in str(f.get("PhoneNumbers", "")).split(",") if p.strip()]
        if not phones or len(phones) > MAX_NUMBERS:
            return refuse("isv.MOBILE_COUNT_OVER_LIMIT" if phones else "MissingPhoneNumbers",
                          f"1 to {MAX_NUMBERS} phone numbers")
        bad = [p for p in phones if not MOBILE.match(p)]
        if bad:
            return refuse("isv.MOBILE_NUMBER_ILLEGAL", f"illegal number {bad[0]}")
        sign = str(f.get("SignName", ""))
        if not sign or (state.approved_signs is not None and sign not in state.approved_signs):
            return refuse("isv.SMS_SIGNATURE_ILLEGAL", "signature not approved")
        if not f.get("TemplateCode"):
            return refuse("isv.SMS_TEMPLATE_ILLEGAL", "template code missing")
        try:
            params = json.loads(str(f.get("TemplateParam") or "{}"))
            if not isinstance(params, dict):
                raise ValueError
        except ValueError:
            return refuse("isv.INVALID_JSON_PARAM", "TemplateParam must be a JSON object")
        biz_id = f"{uuid.uuid4().int % 10**18:018d}^0"
        with state.lock:
            state.messages.append({"BizId": biz_id, "PhoneNumbers": phones, "SignName": sign,
                                   "TemplateCode": f.get("TemplateCode"),
                                   "TemplateParam": params, "OutId": f.get("OutId", "")})
        return jsonify(RequestId=str(uuid.uuid4()), Code="OK", Message="OK", BizId=biz_id)

    @app.get("/messages")
    def messages() -> Any:
        with state.lock:
            return jsonify(messages=list(state.messages), requests=state.requests,
                           failures=state.failures)

    return app


@dataclass
class RunningGateway:
    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/"

    @property
    def state(self) -> GatewayState:
        state: GatewayState = self.app.extensions["sms_gateway"]
        return state

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def serve(port: int = 0, failure_rate: float = 0.0, seed: int | None = None) -> RunningGateway:
    """Start the simulator on 127.0.0.1:*port* (0: a free port) in a background thread."""
    app = create_gateway(failure_rate, seed)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="sms-gateway", daemon=True)
    thread.start()
    return RunningGateway(app, server, thread)
