"""Additions to the Content-Security-Policy (django-csp) for the pages that show the shop's own images.

The shop's logo lives on the shop's host, not ours; an email's HTML is styled inline (mail clients ignore style
sheets) and may show images from anywhere on the web. The policy of every other page stays as strict as the settings
make it.
"""

import functools
from urllib.parse import urlsplit

from csp.constants import UNSAFE_INLINE

from .shop import current_shop


def web_origin(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL, or "" for anything else."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in {"http", "https"} and parts.netloc else ""


def _with_policy(view, *, shows_email: bool):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        response = view(*args, **kwargs)
        images = [origin] if (origin := web_origin(current_shop().logo_url)) else []
        update = {"img-src": images}
        if shows_email:
            # The email is shown in a sandboxed frame (no scripts, no same origin) whose srcdoc document inherits
            # this page's policy. Nothing a shopper typed reaches it unescaped.
            update = {"img-src": [*images, "https:"], "style-src": [UNSAFE_INLINE]}
        if update["img-src"]:
            response._csp_update = update  # django-csp's per-response addition
        return response

    return wrapped


def shows_the_shop_logo(view):
    """For a shopper's page: images from the origin of the shop's logo too."""
    return _with_policy(view, shows_email=False)


def shows_an_email(view):
    """For a page that shows an email as sent or previewed: its inline styles, https images and the shop's logo."""
    return _with_policy(view, shows_email=True)
