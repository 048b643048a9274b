"""Live rules and alerts (issue 12 items 4 and 5): the pure rule engine, stored rules, alerts and their clips.

Layer: part of vigil.live; imports domain, governance, footage and analysis, never search, web or commands.
"""
