"""API plumbing shared by every app: problem details, authentication glue, pagination, throttling, schema."""
