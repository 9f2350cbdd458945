"""Handlers, one module per role or flow. Each is thin: read the update, call one service, reply."""
