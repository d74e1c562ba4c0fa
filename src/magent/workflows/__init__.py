"""Workflows: orchestration over the services and checks; they never print or exit."""
