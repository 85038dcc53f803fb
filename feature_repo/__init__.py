"""The Feast repository: entities, sources, feature views and the model's feature service."""
