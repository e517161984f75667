"""Outbound events: the transactional outbox, webhook endpoints and their signed deliveries."""
