"""Running vigil's work on a Ray cluster (``VIGIL_ENGINE=ray``).

Nothing here imports Ray at import time: every module imports it inside the functions that need it, so the
embedded default (``VIGIL_ENGINE=local``) needs neither Ray nor a cluster. Install with ``pip install
'vigil[cluster]'``.
"""
