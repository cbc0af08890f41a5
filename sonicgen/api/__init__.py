"""The write API (Litestar). Only this layer (and ``dev``) imports Litestar."""
