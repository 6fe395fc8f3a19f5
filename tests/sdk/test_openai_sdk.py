"""The official OpenAI Python SDK, pointed at Switchboard by base_url only."""

import json

import openai
import pytest

from conftest import CHAT_ALIASES


@pytest.fixture
def client(gateway_url, key):
    return openai.OpenAI(base_url=gateway_url + "/v1", api_key=key, max_retries=0)


@pytest.mark.parametrize("model", CHAT_ALIASES)
def test_chat_completion(client, model):
    r = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "say something"}], max_tokens=8)
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content
    assert r.usage.completion_tokens > 0
    assert r.usage.prompt_tokens > 0


@pytest.mark.parametrize("model", CHAT_ALIASES)
def test_streamed_chat_matches_the_complete_answer(client, model):
    messages = [{"role": "user", "content": "stream this please"}]
    complete = client.chat.completions.create(model=model, messages=messages, max_tokens=8)
    stream = client.chat.completions.create(
        model=model, messages=messages, max_tokens=8, stream=True,
        stream_options={"include_usage": True})
    text, usage = "", None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage:
            usage = chunk.usage
    assert text == complete.choices[0].message.content
    assert usage is not None and usage.completion_tokens == complete.usage.completion_tokens


@pytest.mark.parametrize("model", ["gpt", "claude", "gemini", "azure-gpt"])
def test_tool_calls(client, model):
    r = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "what is the weather in Paris"}],
        tools=[{"type": "function", "function": {
            "name": "get_weather", "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}}],
        tool_choice="required")
    call = r.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments)["query"] == "what is the"
    assert r.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("model", ["embed", "gemini-embed"])
def test_embeddings_with_the_sdks_default_base64_encoding(client, model):
    r = client.embeddings.create(model=model, input=["hello world", "bye"])
    assert len(r.data) == 2
    assert len(r.data[0].embedding) == 8
    assert abs(sum(x * x for x in r.data[0].embedding) - 1.0) < 1e-3


def test_models_list(client):
    ids = {m.id for m in client.models.list()}
    assert {"gpt", "claude", "gemini", "demo"} <= ids


def test_bad_key_is_an_authentication_error(gateway_url):
    bad = openai.OpenAI(base_url=gateway_url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "x"}])


def test_unknown_model_is_not_found(client):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])


def test_malformed_request_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="gpt", messages=[{"role": "user", "content": 5}])
    assert "messages[0].content" in str(e.value)


def test_upstream_outage_is_a_503_and_rate_limit_a_429(client, mock):
    mock.fault("status=503", model="mock-fragile")
    with pytest.raises(openai.APIStatusError) as e:
        client.chat.completions.create(model="fragile", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 503
    mock.fault("status=429;retry-after=3", model="mock-fragile")
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="fragile", messages=[{"role": "user", "content": "x"}])
    assert e.value.response.headers["retry-after"] == "3"


def test_a_retried_outage_is_invisible_to_the_client(client, mock):
    mock.fault("status=503", model="mock-gpt", times=1)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt", messages=[{"role": "user", "content": "x"}])
    assert raw.parse().choices[0].message.content
    assert raw.headers["x-switchboard-attempts"] == "2"


@pytest.mark.parametrize("model", ["gpt", "claude", "gemini"])
def test_a_stream_cut_by_the_upstream_raises_instead_of_hanging(client, mock, model):
    mock.fault("cut-after=2")
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "x"}], stream=True)
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass


def test_a_quota_refusal_is_a_rate_limit_error_with_openai_headers(gateway_url):
    limited = openai.OpenAI(base_url=gateway_url + "/v1", api_key="sk-sdk-limited-openai", max_retries=0)
    limited.chat.completions.create(model="demo", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.RateLimitError) as e:
        limited.chat.completions.create(model="demo", messages=[{"role": "user", "content": "x"}])
    headers = e.value.response.headers
    assert headers["x-ratelimit-limit-requests"] == "1"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert int(headers["retry-after"]) > 0
    assert "requests/day" in e.value.message


def test_cost_is_reported_in_a_header(client):
    raw = client.chat.completions.with_raw_response.create(
        model="demo", messages=[{"role": "user", "content": "x"}], max_tokens=5)
    assert float(raw.headers["x-switchboard-cost-usd"]) > 0
