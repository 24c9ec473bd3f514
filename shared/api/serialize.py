"""The one JSON form of every answer body, whoever builds it: Powertools for the values a route
returns (passed to the resolver as its serializer), `detail`/`created`/`page` and the idempotency
layer for the Responses they build. Compact, as Powertools' own default, so no route's spacing
differs from another's."""

from __future__ import annotations

import json
from functools import partial

from aws_lambda_powertools.shared.json_encoder import Encoder

to_json = partial(json.dumps, separators=(",", ":"), cls=Encoder)
