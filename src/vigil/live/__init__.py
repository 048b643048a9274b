"""Live cameras: a worker process per camera reads its stream, records it as footage and reports its health.

Layer: may import vigil.domain, vision, footage, governance and analysis; only web and commands import it.
"""
