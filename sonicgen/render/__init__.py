"""Templates, theme assets and page rendering."""
