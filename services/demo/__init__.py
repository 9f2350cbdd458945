"""Demo data for the sandbox (`python -m bot demo-data`).
"""
