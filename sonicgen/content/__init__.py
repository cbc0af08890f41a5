"""Content models, front matter, field validation, Markdown and the site graph."""
