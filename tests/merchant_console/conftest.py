import pytest

# The mall with data that tests/test_no_server_errors.py walks, for the permission matrix.
from tests.test_no_server_errors import (  # noqa: F401
    paying_mall,
    sim,
    sub_merchant,
    walk_mall,
    wechat_settings,
    wechat_sim,
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Export files land in a directory of the test's own."""
    from tests.merchant_console.export_helpers import reset_storage_paths

    settings.MEDIA_ROOT = str(tmp_path / "media")
    reset_storage_paths()
    yield tmp_path / "media"
    reset_storage_paths()
