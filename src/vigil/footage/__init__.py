"""Footage: ingest, content-addressed storage, SHA-256 chain of custody, probing and decoding (PyAV).

``ingest`` is the service (governance, duplicate detection, custody events, audit); ``probe`` proves a
file is decodable video and reads its facts; ``storage`` copies originals untouched into the data folder;
``video`` opens stored files safely and yields BGR frames for the analysis engine.
"""
