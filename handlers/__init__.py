"""The HTTP face of tokensmith: one module (or package) per spec in `openapi/`, plus the app factory."""
