"""What the sandbox page sees of a chat: messages of the bot and of people as small JSON objects.

The page never receives HTML: texts are plain strings (a bot text sent with a parse mode is
reduced to what Telegram shows), files are links to ``/api/files/<file_id>``.
"""

from __future__ import annotations

from typing import Any

from bot.emulator import JSONDict, SentMessage
from bot.emulator.limits import plain_text


def file_url(file_id: str) -> str:
    """Where the page downloads a file the emulator holds."""
    return f"/api/files/{file_id}"


def bot_message(msg: SentMessage) -> JSONDict:
    """A message the bot sent, in its current state (edits applied)."""
    out: JSONDict = {
        "id": msg.message_id,
        "from": {"bot": True},
        "date": msg.date,
        "edited": msg.edit_count > 0,
        "deleted": msg.deleted,
    }
    if msg.text is not None:
        out["text"] = plain_text(msg.text, msg.parse_mode)
    if msg.caption is not None:
        out["caption"] = plain_text(msg.caption, msg.parse_mode)
    if msg.document is not None:
        doc = msg.document
        out["document"] = {
            "name": doc.file_name or "file",
            "mime": doc.mime_type or "application/octet-stream",
            "size": len(doc.data),
            "url": file_url(doc.file_id),
        }
    if msg.photo_sizes:
        out["photo"] = {"url": file_url(str(msg.photo_sizes[-1]["file_id"]))}
    out.update(_markup(msg.reply_markup or {}))
    return out


def _markup(markup: JSONDict) -> JSONDict:
    out: JSONDict = {}
    if "inline_keyboard" in markup:
        out["inline_keyboard"] = [
            [
                {"text": str(button.get("text", "")), "data": button.get("callback_data"), "url": button.get("url")}
                for button in row
                if isinstance(button, dict)
            ]
            for row in markup["inline_keyboard"]
            if isinstance(row, list)
        ]
    if "keyboard" in markup:
        out["reply_keyboard"] = {
            "rows": [[_button_text(button) for button in row] for row in markup["keyboard"] if isinstance(row, list)],
            "one_time": bool(markup.get("one_time_keyboard")),
            "placeholder": markup.get("input_field_placeholder"),
        }
    if markup.get("remove_keyboard"):
        out["remove_keyboard"] = True
    return out


def _button_text(button: Any) -> str:
    return str(button.get("text", "")) if isinstance(button, dict) else str(button)


def user_message(msg: JSONDict) -> JSONDict:
    """A message a person sent (a Bot API Message object as the emulator keeps it)."""
    sender = msg.get("from") or {}
    name = " ".join(str(part) for part in (sender.get("first_name"), sender.get("last_name")) if part)
    out: JSONDict = {
        "id": msg["message_id"],
        "from": {"bot": False, "id": sender.get("id"), "name": name},
        "date": msg.get("date"),
        "edited": False,
        "deleted": False,
    }
    for key in ("text", "caption"):
        if msg.get(key) is not None:
            out[key] = str(msg[key])
    if msg.get("photo"):
        out["photo"] = {"url": file_url(str(msg["photo"][-1]["file_id"]))}
    document = msg.get("document")
    if isinstance(document, dict):
        out["document"] = {
            "name": document.get("file_name") or "file",
            "mime": document.get("mime_type") or "application/octet-stream",
            "size": document.get("file_size") or 0,
            "url": file_url(str(document["file_id"])),
        }
    return out
