"""tokensmith: a self-hosted token authority. This package is the core; it knows no HTTP and no dialect."""
