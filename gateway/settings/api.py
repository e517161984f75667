"""REST framework and OpenAPI settings."""

from gateway.settings.env import env

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenants.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["gateway.api.renderers.JSONRenderer"],
    # Bounded JSON (size 413, nesting 400) and OPTIONS without serializer introspection (gateway/api/).
    "DEFAULT_PARSER_CLASSES": ["gateway.api.parsers.JSONParser"],
    "DEFAULT_METADATA_CLASS": "gateway.api.metadata.ApiMetadata",
    "DEFAULT_PAGINATION_CLASS": "gateway.api.pagination.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["gateway.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env.str("API_RATE_LIMIT", default="1200/min")},
    "EXCEPTION_HANDLER": "gateway.api.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 50,
}

# Seconds each web process keeps a key that authenticated (and its workspace) without reading it again: a revoke
# or workspace change made through another process takes effect here within this bound, in the same one at once.
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=5.0)

# Largest page a client may ask for with ?page_size= (README.md: The API contract).
API_MAX_PAGE_SIZE = 200

SPECTACULAR_SETTINGS = {
    "TITLE": "Ledgerbridge API",
    "DESCRIPTION": (
        "One REST API for accounting systems. Authenticate with `Authorization: Bearer <api key>`. "
        "Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from drf-spectacular-sidecar's bundled files: no CDN, works behind firewalls.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "gateway.api.schema.add_problem_responses",
        "gateway.api.schema.forbid_nul_in_request_strings",
    ],
    "ENUM_NAME_OVERRIDES": {
        "WebhookEventTypeEnum": "events.models.EventType",
        "WebhookDeliveryStatusEnum": "events.models.DeliveryStatus",
    },
}
