"""Built-in features written as plugins on the public hook API; a site may disable or replace them."""
