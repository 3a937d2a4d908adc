"""The import contracts of DESIGN.md §2, as [tool.importlinter] in pyproject.toml states
them: core imports no other package, domain code never imports a face nor DRF, the
storefront's domain apps form layers, and the platform never imports the simulators."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_the_import_contracts_hold():
    run = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True,
        text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, f"import contracts broken:\n{run.stdout}{run.stderr}"
    assert "0 broken" in run.stdout


def test_every_storefront_domain_app_is_bound_by_the_domain_contracts():
    """A new domain app (storefront.ledger, say: a subpackage with its own apps.py, which
    the faces web/ and api/ have not) must be named in the contracts' source modules, or
    nothing would stop it from importing a face."""
    apps = {
        f"storefront.{package.name}" for package in (ROOT / "storefront").iterdir()
        if (package / "apps.py").is_file()
    }
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = {contract["id"]: contract for contract in config["contracts"]}

    assert {"storefront.catalog", "storefront.orders"} <= apps
    for contract_id in ("domain-faces", "domain-no-drf"):
        missing = apps - set(contracts[contract_id]["source_modules"])
        assert not missing, (
            f"add {sorted(missing)} to the source modules of the {contract_id!r} contract "
            "in pyproject.toml (and give it its place in 'storefront-layers')"
        )
