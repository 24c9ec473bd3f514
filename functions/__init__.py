"""Lambda handlers. Lambda imports `functions.<area>.<module>`, so this runs first in every cold
start: the cyclic garbage collector is paused for the import (pydantic, Powertools and botocore
allocate enough to set off dozens of collections that find no garbage: 10-15 % of import time,
bench/cold.py's garbage_collection). shared.observability.traced, which every handler applies
(through `api_handler`/`observed`) as it is defined at the end of its module, resumes it with the
import's objects frozen out of later collections."""

import gc

gc.disable()
