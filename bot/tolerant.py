"""A bot whose polling survives an update this PTB version cannot parse.

PTB parses a ``getUpdates`` batch as a whole; one update it cannot read (a field Telegram made
required in a newer Bot API, say) fails the batch, the offset never advances, and polling is
stuck on it forever. Here such a batch is fetched again and parsed one update at a time; an
unreadable update is logged and replaced by a bare ``Update(update_id)`` so the offset moves on
and the gate records it. (Webhook mode has the same guard in :mod:`bot.web`.)

With a ``recorder`` (:func:`services.platform.intake.record_batch`), every ``getUpdates`` batch is recorded in
the database before PTB's updater sees it: the updater moves the offset (which tells Telegram to
forget them) only past recorded updates. A batch that cannot be recorded is refused as a network
error, so the updater asks for it again after its usual backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from telegram import Update
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.error import NetworkError
from telegram.ext import ExtBot
from telegram.request import BaseRequest

logger = logging.getLogger(__name__)

PARSE_ERRORS = (TypeError, ValueError, KeyError, AttributeError, RecursionError)
Recorder = Callable[[list[JSONDict]], Awaitable[object]]


class TolerantBot(ExtBot[int]):
    """ExtBot with a ``get_updates`` that skips unreadable updates instead of stalling, and records each
    fetched batch with ``recorder`` before returning it."""

    __slots__ = ("_recorder",)

    def __init__(self, *args: Any, recorder: Recorder | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        with self._unfrozen():
            self._recorder = recorder

    async def _post(
        self,
        endpoint: str,
        data: JSONDict | None = None,
        *,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> Any:
        """PTB's request path; a ``getUpdates`` result is recorded before anyone sees it."""
        result = await super()._post(
            endpoint, data, read_timeout=read_timeout, write_timeout=write_timeout,
            connect_timeout=connect_timeout, pool_timeout=pool_timeout, api_kwargs=api_kwargs,
        )
        if endpoint == "getUpdates" and result and self._recorder is not None:
            try:
                await self._recorder(result)
            except Exception as error:
                logger.exception("fetched updates could not be recorded; they will be fetched again")
                raise NetworkError("fetched updates could not be recorded") from error
        if endpoint == "getUpdates" and isinstance(result, list):
            return [without_nul(item) for item in result]
        return result

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: TimePeriod | None = None,  # noqa: ASYNC109 (PTB's signature)
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        """Like PTB's, but one unreadable update does not block the others."""
        try:
            return await super().get_updates(
                offset=offset, limit=limit, timeout=timeout, allowed_updates=allowed_updates,
                read_timeout=read_timeout, write_timeout=write_timeout, connect_timeout=connect_timeout,
                pool_timeout=pool_timeout, api_kwargs=api_kwargs,
            )
        except PARSE_ERRORS:
            raw = cast(
                "list[JSONDict]",
                await self._post(
                    "getUpdates",
                    {"offset": offset, "limit": limit, "timeout": 0, "allowed_updates": allowed_updates},
                ),
            )
            return tuple(parse_each(raw, self))


def without_nul(value: Any) -> Any:
    """``value`` (parsed JSON) with NUL characters taken out of every string: PostgreSQL's text refuses them, and
    no person types one (a crafted update could carry it into a search or a name)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {key: without_nul(item) for key, item in value.items()}
    return value


def parse_each(raw: list[JSONDict], bot: Any) -> list[Update]:
    """Parse updates one by one (NUL characters removed); an unreadable one becomes a bare ``Update`` with its id."""
    updates = []
    for item in map(without_nul, raw):
        try:
            update = Update.de_json(item, bot)
        except PARSE_ERRORS:
            logger.error("update %s cannot be parsed by this PTB version; skipped", item.get("update_id"),
                         exc_info=True)
            update = Update(update_id=int(item["update_id"]))
            update.set_bot(bot)
        updates.append(update)
    return updates
