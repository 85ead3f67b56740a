"""Search as people use it: the index's ranking, filtered by who is asking."""

from lessonloop.search.service import search

__all__ = ["search"]
