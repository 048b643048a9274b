"""The accountability spine: users, roles, training, purposes, audit chain, retention, PIA register."""
