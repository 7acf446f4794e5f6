"""Website reach: page views of published articles, from the site's own web analytics.

``base`` holds the interface, ``matomo`` and ``plausible`` the readers, and
``build`` makes a channel's reader from its configuration.
"""
