"""After the activity: the work record (annex 4), the credit file, sanctions, excellent experts
(000 §20, §23, §25, §27; 001 §16, §22).
"""
