"""The official Anthropic Python SDK, pointed at Switchboard by base_url only."""

import anthropic
import pytest

from conftest import CHAT_ALIASES


@pytest.fixture
def client(gateway_url, key):
    return anthropic.Anthropic(base_url=gateway_url, api_key=key, max_retries=0)


@pytest.mark.parametrize("model", CHAT_ALIASES)
def test_message(client, model):
    m = client.messages.create(
        model=model, max_tokens=8, system="be brief",
        messages=[{"role": "user", "content": "say something"}])
    assert m.role == "assistant"
    assert m.content[0].type == "text" and m.content[0].text
    assert m.usage.output_tokens > 0


@pytest.mark.parametrize("model", CHAT_ALIASES)
def test_stream_helper_builds_the_same_message(client, model):
    messages = [{"role": "user", "content": "stream this please"}]
    complete = client.messages.create(model=model, max_tokens=8, messages=messages)
    with client.messages.stream(model=model, max_tokens=8, messages=messages) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == complete.content[0].text
    assert final.content[0].text == text
    assert final.stop_reason == complete.stop_reason
    assert final.usage.output_tokens == complete.usage.output_tokens


@pytest.mark.parametrize("model", ["gpt", "claude", "gemini"])
def test_tool_use(client, model):
    m = client.messages.create(
        model=model, max_tokens=100,
        tools=[{"name": "get_weather", "description": "Weather",
                "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}}}],
        tool_choice={"type": "any"},
        messages=[{"role": "user", "content": "weather in Paris today"}])
    block = next(b for b in m.content if b.type == "tool_use")
    assert block.name == "get_weather"
    assert block.input["query"] == "weather in Paris"
    assert m.stop_reason == "tool_use"


@pytest.mark.parametrize("model", ["gpt", "claude"])
def test_streamed_tool_use(client, model):
    with client.messages.stream(
            model=model, max_tokens=100,
            tools=[{"name": "get_weather", "input_schema": {"type": "object"}}],
            tool_choice={"type": "any"},
            messages=[{"role": "user", "content": "weather in Paris today"}]) as stream:
        final = stream.get_final_message()
    block = next(b for b in final.content if b.type == "tool_use")
    assert block.input == {"query": "weather in Paris"}


def test_bad_key_is_an_authentication_error(gateway_url):
    bad = anthropic.Anthropic(base_url=gateway_url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        bad.messages.create(model="claude", max_tokens=5, messages=[{"role": "user", "content": "x"}])


def test_a_wrongly_typed_field_is_a_bad_request_naming_it(client, mock):
    with pytest.raises(anthropic.BadRequestError) as e:
        client.messages.create(model="claude", max_tokens=5, messages=[{"role": "user", "content": "x"}],
                               extra_body={"max_tokens": "five"})
    assert "max_tokens" in str(e.value)
    assert mock.calls() == 0


def test_a_stream_cut_by_the_upstream_raises(client, mock):
    mock.fault("cut-after=2")
    with pytest.raises(anthropic.APIError):
        with client.messages.stream(model="gpt", max_tokens=16,
                                    messages=[{"role": "user", "content": "x"}]) as stream:
            for _ in stream.text_stream:
                pass


def test_a_quota_refusal_is_a_rate_limit_error(gateway_url):
    limited = anthropic.Anthropic(base_url=gateway_url, api_key="sk-sdk-limited-anthropic", max_retries=0)
    limited.messages.create(model="demo", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(anthropic.RateLimitError):
        limited.messages.create(model="demo", max_tokens=5, messages=[{"role": "user", "content": "x"}])
