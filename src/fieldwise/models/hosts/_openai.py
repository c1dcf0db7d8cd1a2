"""OpenAI's own API: the host the ``openai/`` backend assumes unless told otherwise."""

from fieldwise.models.hosts import Host

HOST = Host(
    name="openai",
    base_url="https://api.openai.com/v1",
    key_env="OPENAI_API_KEY",
    token_limit_param="max_completion_tokens",  # its reasoning models refuse max_tokens
    schema_dialect="strict",
    batch=True,
    base_url_env="OPENAI_BASE_URL",
)
