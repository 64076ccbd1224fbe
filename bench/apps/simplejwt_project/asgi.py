"""The ASGI entry point uvicorn serves: `bench.apps.simplejwt_project.asgi:application`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.apps.simplejwt_project.settings")
application = get_asgi_application()
