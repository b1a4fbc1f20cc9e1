"""One page of a console list, and the list's other query parameters for the page links."""

from django.core.paginator import Page, Paginator
from django.http import HttpRequest


def page_of(request: HttpRequest, items, per_page: int) -> tuple[Page, str]:
    """The requested page of `items` (the last one if out of range), and the query string of
    the request without `page`, for the links to the other pages."""
    params = request.GET.copy()
    params.pop("page", None)
    return Paginator(items, per_page).get_page(request.GET.get("page")), params.urlencode()
