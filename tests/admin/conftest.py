from tests.auth.conftest import fresh_rate_limits  # noqa: F401  (fixture)
