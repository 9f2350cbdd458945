"""Draws: requests and four-eyes approval, the seeded draw against the pool, its stored record and verification,
the annex-3 export, and the random draw of inspection targets (000 §17; 001 §11; 003 三(一)).
"""
