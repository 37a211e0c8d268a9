"""The station web app: pages, static assets and translations."""
