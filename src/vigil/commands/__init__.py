"""The CLI's command groups; `vigil.cli` assembles them."""
