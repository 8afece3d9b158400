"""Root conftest: the shared real-engine fixtures (tests/fixtures.py) for every app's tests."""

pytest_plugins = ["tests.fixtures"]
