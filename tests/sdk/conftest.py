"""Shared fixtures: the gateway's URL and key, and a handle on mock-llm's admin API."""

import json
import os
import urllib.request

import pytest

CHAT_ALIASES = ["gpt", "azure-gpt", "claude", "gemini", "demo"]


@pytest.fixture(scope="session")
def gateway_url():
    return os.environ["SWITCHBOARD_URL"]


@pytest.fixture(scope="session")
def key():
    return os.environ["SWITCHBOARD_KEY"]


class Mock:
    """mock-llm's admin API: faults and counters."""

    def __init__(self, url):
        self.url = url

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read() or b"null")

    def fault(self, spec, model=None, times=1):
        rule = {"fault": spec, "times": times}
        if model:
            rule["model"] = model
        self._call("POST", "/_mock/faults", rule)

    def reset(self):
        self._call("POST", "/_mock/reset")

    def calls(self):
        return self._call("GET", "/_mock/stats")["calls"]


@pytest.fixture
def mock():
    m = Mock(os.environ["MOCK_URL"])
    m.reset()
    yield m
    m.reset()
