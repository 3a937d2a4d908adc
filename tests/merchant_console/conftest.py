# The mall with data that tests/test_no_server_errors.py walks, for the permission matrix.
from tests.test_no_server_errors import (  # noqa: F401
    paying_mall,
    sim,
    sub_merchant,
    walk_mall,
    wechat_settings,
    wechat_sim,
)
