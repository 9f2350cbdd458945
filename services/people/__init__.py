"""Org units, staff, people and their channel accounts: invites, binding, identification, staff group chats.
"""
