"""Video synopsis: plan where each track's tube goes in a short video and render it from the footage."""
