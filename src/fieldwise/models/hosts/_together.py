"""Together AI (``together/MODEL``): open-weight models and hosted fine-tunes.

Structured outputs take OpenAI's ``json_schema`` response format with a plain JSON
Schema (docs.together.ai, "Structured outputs")."""

from fieldwise.models.hosts import Host

HOST = Host(
    name="together",
    base_url="https://api.together.xyz/v1",
    key_env="TOGETHER_API_KEY",
)
