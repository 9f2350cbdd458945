"""The social supervisor registry (002 §3–§8): appointment, term, termination; table import and export.
"""
