"""The invitation loop: invite, accept, decline, recuse, the commitment (承诺书), replacement by backups, the
chasing sweep, the live roster, employer letters (000 §14, §15, §19).
"""
