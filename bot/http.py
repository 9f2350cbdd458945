"""PTB's network layer on aiohttp instead of httpx.

PTB talks to the Bot API through a :class:`telegram.request.BaseRequest`; its default, ``HTTPXRequest``,
costs about a millisecond of CPU per call on this bot's hot path (httpcore checks every pooled
connection on each request). aiohttp is already the bot's web server, and its client does the same
work for a fraction of that: see the README's "Benchmarks". Behaviour is PTB's: parameters go as a
form (multipart when files are attached), timeouts become :class:`telegram.error.TimedOut`, other
transport failures :class:`telegram.error.NetworkError`, and the status code and body go back to PTB,
which turns Bot API errors into its own exceptions.
"""

from __future__ import annotations

import logging

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

logger = logging.getLogger(__name__)


class AiohttpRequest(BaseRequest):
    """A :class:`~telegram.request.BaseRequest` over one :class:`aiohttp.ClientSession`.

    ``connection_pool_size`` bounds the open connections; a request waits for a free one at most
    ``pool_timeout`` (then :class:`TimedOut`, and nothing was sent). aiohttp has no separate write
    timeout: ``write_timeout`` (``media_write_timeout`` for uploads) is added to the read timeout as
    a bound on the whole exchange.
    """

    __slots__ = (
        "_connect_timeout", "_media_write_timeout", "_pool_size", "_pool_timeout", "_read_timeout",
        "_session", "_write_timeout",
    )

    def __init__(
        self,
        *,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds a long poll's timeout to it for ``getUpdates``)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (again, after :meth:`shutdown`)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=self._pool_size)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}, raise_for_status=False,
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(  # noqa: PLR0917 - PTB's signature
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; the HTTP status and the body."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data is not None else None
        fields = request_data.json_parameters if request_data is not None else None
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        default_write = self._media_write_timeout if files else self._write_timeout
        write = default_write if isinstance(write_timeout, DefaultValue) else write_timeout
        timeout = aiohttp.ClientTimeout(
            total=None if read is None or write is None or connect is None or pool is None
            else read + write + connect + pool,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        body: aiohttp.FormData | dict[str, str] | None = fields or None
        if files:
            form = aiohttp.FormData(quote_fields=False)  # UTF-8 file names as they are, like httpx and Telegram's apps
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mime_type) in files.items():
                form.add_field(name, content, filename=filename, content_type=mime_type)
            body = form
        try:
            async with session.request(method, url, data=body, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            # a wait for a pooled connection or the connection itself timed out: nothing was sent
            if isinstance(error, aiohttp.ConnectionTimeoutError):
                raise TimedOut("Connection pool or connect timeout: the request was not sent.") from error
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {error}") from error
