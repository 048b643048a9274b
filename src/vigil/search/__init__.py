"""Investigator search over analysed footage: query model, description parser, similarity, synopsis, export."""
