"""Activities and who may serve on them: creation rules (kind, times, composition, odd group), inspected
institutions, required recusals, the staffing rules (exclusions, recusal, rotation, group composition) and the
candidate facts they read (000 §15, §18; 001 §14, §15, §17).
"""
