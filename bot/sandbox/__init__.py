"""The sandbox: the whole product on one machine with no Telegram, for newcomers, evaluators and training.

``python -m bot sandbox`` starts the Bot API emulator, the real bot polling it (same handlers,
services, scheduler and outbox as production; only the Bot API endpoint differs) and a web page
on 127.0.0.1 where a trainee picks a demo person and chats as them (:mod:`bot.sandbox.server`).
The page also moves the sandbox's clock forward, which production cannot do.
"""

from bot.sandbox.launch import Sandbox, SandboxError, open_sandbox, run_sandbox

__all__ = ["Sandbox", "SandboxError", "open_sandbox", "run_sandbox"]
