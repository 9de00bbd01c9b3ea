"""The namespaces of rows in the `claims` table: each is one rule the database referees.

A claim row's primary key (namespace, value) makes a uniqueness rule hold between concurrent
writers; a reference row (`value` = "<target>|<owner>") keeps a resource from being deleted while
another names it. Services write these; the gateway's read model resolves Target URIs through
`NAME_IN_REGION`.
"""

from __future__ import annotations

NAME_IN_REGION = "endpoint-name-in-region"  # an endpoint name is unique per region
MODEL_IN_WORKSPACE = "endpoint-model-in-workspace"  # one endpoint per model per workspace
ONE_PER_OFFER = "subscription-per-offer"  # one marketplace subscription per offer per workspace
OFFER_IN_USE = "offer-in-use"  # references: endpoints and subscriptions using an offer
MODEL_VERSION_IN_USE = "model-version-in-use"  # references: endpoints serving a model version
QUOTA_REQUEST_PENDING = "quota-request-pending"  # one pending quota request per endpoint
