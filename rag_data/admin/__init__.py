"""Admin for reviewing feedback and inspecting queries and the ingestion ledger, one module per page family.

Django's admin autodiscovery imports this package; importing the modules below registers their ModelAdmins:
feedback (the review page and its actions), evaluation (choosing a case's relevant chunks), ledger (the
read-only pages). results renders a query's results for all of them, export streams the feedback CSV.
"""

from rag_data.admin import evaluation, feedback, ledger  # noqa: F401 -- registers the ModelAdmins

__all__ = ["evaluation", "feedback", "ledger"]
