"""Credentials on disk: generated once, in the formats the platform reads, and reused."""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from simulators.wechat import (
    APIV3_KEY_FILE,
    CREDENTIALS_FILE,
    SP_CERT_SERIAL_FILE,
    SP_PRIVATE_KEY_FILE,
    WECHATPAY_PUBLIC_KEY_FILE,
    WECHATPAY_PUBLIC_KEY_ID_FILE,
    SimulatorConfig,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def state_copy(sim_state_dir, tmp_path):
    """The session's state directory, copied: a second simulator starting on it rewrites
    credentials.json, which must not disturb the running one."""
    return Path(shutil.copytree(sim_state_dir, tmp_path / "state"))


def test_state_dir_holds_the_files_the_platform_reads(simulator, sim_state_dir, credentials):
    assert (
        (sim_state_dir / SP_PRIVATE_KEY_FILE).read_text().startswith("-----BEGIN PRIVATE KEY-----")
    )
    assert stat.S_IMODE((sim_state_dir / SP_PRIVATE_KEY_FILE).stat().st_mode) == 0o600
    assert re.fullmatch(r"[0-9A-F]{40}", (sim_state_dir / SP_CERT_SERIAL_FILE).read_text().strip())
    assert re.fullmatch(r"[0-9A-Za-z]{32}", (sim_state_dir / APIV3_KEY_FILE).read_text().strip())
    assert (
        (sim_state_dir / WECHATPAY_PUBLIC_KEY_FILE)
        .read_text()
        .startswith("-----BEGIN PUBLIC KEY-----")
    )
    key_id = (sim_state_dir / WECHATPAY_PUBLIC_KEY_ID_FILE).read_text().strip()
    assert re.fullmatch(r"PUB_KEY_ID_\d+", key_id)

    assert credentials["sp_mchid"] == "1900000100"
    assert re.fullmatch(r"wx[0-9a-f]{16}", credentials["sp_appid"])
    assert len(credentials["sp_app_secret"]) == 32
    assert credentials["wechatpay_public_key_id"] == key_id
    assert credentials["base_url"] == simulator.base_url
    assert [m["sub_mchid"] for m in credentials["sub_merchants"]] == [
        "1900000109",
        "1900000110",
        "1900000111",
    ]
    assert {m["max_ratio"] for m in credentials["sub_merchants"]} == {3000}
    assert all(
        m["sub_appid"].startswith("wx") and m["sub_app_secret"]
        for m in credentials["sub_merchants"]
    )


def test_credentials_are_reused_on_the_next_start(state_copy, credentials):
    again = SimulatorConfig.load_or_create(state_copy)
    assert again.credentials.sp_cert_serial == credentials["sp_cert_serial"]
    assert again.credentials.apiv3_key == credentials["apiv3_key"]
    assert (
        again.credentials.wechatpay_public_key_pem
        == (state_copy / WECHATPAY_PUBLIC_KEY_FILE).read_text()
    )
    rewritten = json.loads((state_copy / CREDENTIALS_FILE).read_text())
    assert rewritten["sp_appid"] == credentials["sp_appid"]
    assert rewritten["sub_merchants"] == credentials["sub_merchants"]


def test_added_sub_merchant_gets_stable_apps(base_url, sim_state_dir):
    added = requests.post(
        f"{base_url}/_sim/sub-merchants",
        json={"sub_mchid": "1900000299", "max_ratio": 2000, "name": "加盟店"},
        timeout=5,
    ).json()
    assert added["max_ratio"] == 2000 and added["sub_appid"].startswith("wx")
    again = requests.post(
        f"{base_url}/_sim/sub-merchants", json={"sub_mchid": "1900000299"}, timeout=5
    ).json()
    assert again["sub_appid"] == added["sub_appid"]  # derived, not random
    on_disk = json.loads((sim_state_dir / CREDENTIALS_FILE).read_text())
    assert "1900000299" in {m["sub_mchid"] for m in on_disk["sub_merchants"]}
    refused = requests.post(f"{base_url}/_sim/sub-merchants", json={"sub_mchid": "x1"}, timeout=5)
    assert refused.status_code == 400 and refused.json()["code"] == "PARAM_ERROR"


def test_command_line_serves_with_existing_state(state_copy, credentials):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulators.wechat",
            "--port",
            "0",
            "--state-dir",
            str(state_copy),
            "--time-scale",
            "0.01",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = process.stdout.readline()
        url = re.search(r"listening on (http://\S+)", banner).group(1)
        answer = requests.get(f"{url}/_sim/settings", timeout=5).json()
        assert answer["time_scale"] == 0.01
        assert requests.get(f"{url}/_sim/", timeout=5).status_code == 200
        on_disk = json.loads((state_copy / CREDENTIALS_FILE).read_text())
        assert (on_disk["base_url"], on_disk["sp_appid"]) == (url, credentials["sp_appid"])
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0
