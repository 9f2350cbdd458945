"""The bureau's rules and state changes, independent of any messaging channel.

Services are verb functions taking keyword arguments and an entered unit of work; they return
plain results or raise a :mod:`services.platform.errors` error. They record what must be said in the
outbox and never talk to Telegram (nothing here imports ``telegram``).
"""
