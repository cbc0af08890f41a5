"""The SQLite databases sonicgen owns: careful connections and versioned migrations."""
