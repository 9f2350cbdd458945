"""Telegram front end."""
