"""Doctests are collected in every package; these modules run something when imported, so they are not."""

collect_ignore_glob = ["*/__main__.py", "carewatch/migrations/env.py", "carewatch/migrations/versions/*"]
