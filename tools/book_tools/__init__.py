"""Tooling that builds and checks the resnet-edu book; never installed for learners.

- :mod:`book_tools.toc`: the pages of ``_toc.yml`` and the repository of ``_config.yml``.
- :mod:`book_tools.repo_url`: the standard first cell of every chapter, kept in sync with ``_config.yml``.
- :mod:`book_tools.student`: nbgrader student copies of the chapters.
- :mod:`book_tools.exercises`: every exercise of the chapters, for the instructors page.
- :mod:`book_tools.prose`: the prose words of each page (at most about 3,500: 15 minutes of reading).
- :mod:`book_tools.spreads`: the seed spreads chapters print beside single runs (`make spreads`).
"""
