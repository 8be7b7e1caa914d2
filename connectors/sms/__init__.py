"""SMS notification channel: notifications become text messages through a SendSms-style
HTTP gateway (Alibaba / Tencent cloud shape), with retries, backoff and a delivery record.
``connectors.sms.gateway`` is a simulated gateway for the demo and the tests."""
