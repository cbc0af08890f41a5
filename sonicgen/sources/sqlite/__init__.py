"""The SQLite source: collections kept as tables of the content database."""
