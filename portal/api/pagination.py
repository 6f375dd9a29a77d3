"""Pagination for every API list: a page size the client may choose, up to a hard maximum."""

from rest_framework.pagination import PageNumberPagination


class PortalPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    # A client asking for more gets this many: one request never loads the whole estate.
    max_page_size = 500
