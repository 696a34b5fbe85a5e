"""The HTTP contract, written once: pydantic models of every request and response body.

The edge parses requests with these models (``parse``), endpoints declare them on their
view functions (``registry.operation``), and ``/api/openapi.json`` is generated from the
same declarations, so what the server accepts, what it documents and what the tests
check cannot drift apart. docs/api.md says how to add an endpoint.
"""
