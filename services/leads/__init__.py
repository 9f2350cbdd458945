"""Social supervisors' leads (线索): reporting with evidence, the pseudonymous staff thread, triage and working-day
deadlines, rewards, identity custodians and reveals, evidence storage and scrubbing (002 §9–§12; 003 三(四)).
"""
