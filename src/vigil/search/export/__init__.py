"""Evidence export: a case's confirmed tracks as a verifiable zip (clips, stills, manifest),
its checks and retention."""
