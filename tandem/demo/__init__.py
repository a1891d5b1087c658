"""The synthetic demo practice (`manage.py seed_demo`). It sits on top of every app; nothing imports it.

build       the entry point: seed(), counts(); one Builder made of the area classes below
staff       practice, locations, rooms, therapists, working hours, co-therapy teams
cases       case plans, clients, cases, phase history, presenting problems
scheduling  sessions on a clash-free slot grid (grid), their occupancy rows, today's top-up
pathway     intakes, treatment consent, findings, referrals, plans, follow-up (small demo)
clinical    notes, questionnaires, consents, homework through the real services (small demo)
large       notes, questionnaires, homework logs in bulk (the benchmark practice)
history     the audit events of everything written in bulk; audit signs them into the chain
practice    the saved booking policy and public-holiday closures
logins      the printed log-ins and the portal accounts behind them
"""
