"""Template context shared by every page."""

from django.conf import settings


def portal(request):
    return {"portal_demo": settings.PORTAL_DEMO}
