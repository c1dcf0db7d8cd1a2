"""Fireworks AI (``fireworks/accounts/ACCOUNT/models/MODEL``).

Structured outputs take OpenAI's ``json_schema`` response format with a plain JSON
Schema (docs.fireworks.ai, "Structured outputs")."""

from fieldwise.models.hosts import Host

HOST = Host(
    name="fireworks",
    base_url="https://api.fireworks.ai/inference/v1",
    key_env="FIREWORKS_API_KEY",
)
