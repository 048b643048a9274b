"""Human review of candidate tracks: the marks (confirmed, rejected, unsure) of a case and their current verdicts."""
