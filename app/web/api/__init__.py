"""The JSON API, one blueprint per concern."""
