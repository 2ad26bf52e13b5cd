"""The User-Agent's contact URL: one warning while the operator has not set one."""

from __future__ import annotations

import functools
import logging

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

logger = logging.getLogger(__name__)


def warn_without_contact(settings: BaseSettings) -> bool:
    """Log one WARNING per process when requests go out with no contact URL in the User-Agent.

    Skipped when ``USER_AGENT`` was set on purpose (``-s USER_AGENT=…``), and not logged with
    ``CONTACT_WARNING`` off (``newscrawl crawl`` warns once for all its crawls). True when it is unset.
    """
    if settings.get("CONTACT_URL") or settings.getpriority("USER_AGENT") > SETTINGS_PRIORITIES["project"]:
        return False
    if settings.getbool("CONTACT_WARNING", True):
        _warn_contact_once(settings.get("USER_AGENT"))
    return True


@functools.cache  # one line per process, however many spiders it runs
def _warn_contact_once(user_agent: str) -> None:
    logger.warning(
        "NEWSCRAWL_CONTACT_URL is not set: requests go out as %r, with no page where a site can "
        "reach you; set NEWSCRAWL_CONTACT_URL to your project page or a mailto: address",
        user_agent,
    )
