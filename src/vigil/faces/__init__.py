"""Facial recognition services: watchlists, identification, retrospective search of a case's footage, calibration.

Every service authorises the user (capability ``live_fr`` or ``retrospective_fr``, with current training) and
writes its own audit entry, so no route or command can skip either. No result is ever an identification by
itself: a trained person confirms or rejects each candidate.
"""
