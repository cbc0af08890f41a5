"""The flat-file source: Markdown files and data files, read for builds and written by the store."""
