"""The pipeline that turns footage into tracks: frame -> motion -> detect -> track -> attributes -> store."""
