from tests.auth.conftest import fresh_rate_limits, smtp_server  # noqa: F401  (fixtures)
