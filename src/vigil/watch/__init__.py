"""Watches: live rules that are searches (appearance and similar-appearance watches), above live and search."""
