"""vigil: self-hosted CCTV investigation platform."""
