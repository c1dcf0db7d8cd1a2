"""Runner tests."""
