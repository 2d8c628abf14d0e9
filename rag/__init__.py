"""政策问答: retrieval Q&A over Chinese government policy texts, with citations down to the clause."""

__version__ = "0.1.0"
