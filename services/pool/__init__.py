"""The expert pool (专家库): admission conditions, the expert life cycle, the daily pool sweep, search and cards,
profile changes, annex-2 import and export (000 §7–§13, §21–§24; 001 §8, §22).
"""
