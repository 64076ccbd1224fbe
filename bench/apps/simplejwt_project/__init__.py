"""A minimal Django project serving djangorestframework-simplejwt's `TokenVerifyView` with its blacklist
app: the Python peer most users would reach for. Its tables live beside tokensmith's in the bench
database (their names do not clash)."""
