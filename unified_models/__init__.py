"""The common accounting data model, its API, the local store of synced records and mutations."""
