"""The institution directory (hospitals, pharmacies): validated credit codes, search, import and export.
"""
