"""What every topic stands on: clock, roles and the actor, the domain error tree, the audit chain, the outbox and
notifications, processed update ids, working days, identifiers, tables, dialogs, tunable rule numbers (policy) and
the button codec. Imports no other services package.
"""
