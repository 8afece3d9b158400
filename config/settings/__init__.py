"""Settings for the RAG data layer: every value from the environment, validated at import time.

Local defaults match the local stack (`make stack-up`); DJANGO_ENV=production makes secrets mandatory and
turns DEBUG off by default. See docs/configuration.md for every variable. One module per concern, read in
this order (a later one may use an earlier one's values): base (environment, secrets, apps, Django), stores,
ingestion, search (and the API's limits), jobs (and the drift check), security (HTTPS, /metrics), log_config.
"""

from config.settings.base import *  # noqa: F401,F403
from config.settings.stores import *  # noqa: F401,F403
from config.settings.ingestion import *  # noqa: F401,F403
from config.settings.search import *  # noqa: F401,F403
from config.settings.jobs import *  # noqa: F401,F403
from config.settings.security import *  # noqa: F401,F403
from config.settings.log_config import *  # noqa: F401,F403
