"""Where entries come from: flat files today, SQLite beside them."""
