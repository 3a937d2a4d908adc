"""Key material and merchant ids, generated once per state directory and reused after.

The files the platform reads have the names and formats a real service provider gets
from WeChat Pay: the merchant API private key (PKCS#8 PEM), its certificate serial, the
APIv3 key, and the WeChat Pay public key with its id (public-key mode, the mode WeChat
issues to new merchants). The platform's private key stays with the simulator."""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SP_PRIVATE_KEY_FILE = "sp_apiclient_key.pem"
SP_CERT_SERIAL_FILE = "sp_cert_serial.txt"
APIV3_KEY_FILE = "apiv3_key.txt"
WECHATPAY_PUBLIC_KEY_FILE = "wechatpay_public_key.pem"
WECHATPAY_PUBLIC_KEY_ID_FILE = "wechatpay_public_key_id.txt"
WECHATPAY_PRIVATE_KEY_FILE = "wechatpay_private_key.pem"
CREDENTIALS_FILE = "credentials.json"

DEFAULT_SP_MCHID = "1900000100"


@dataclass(frozen=True)
class Credentials:
    """Everything secret or identifying about the service provider and the platform.

    `secret_seed` derives the app ids, app secrets and openids (see accounts.py), so they
    stay the same across restarts without being stored one by one."""

    sp_mchid: str
    sp_cert_serial: str
    apiv3_key: str
    wechatpay_public_key_id: str
    secret_seed: str
    sp_private_key: rsa.RSAPrivateKey
    wechatpay_private_key: rsa.RSAPrivateKey

    @property
    def sp_public_key(self) -> rsa.RSAPublicKey:
        return self.sp_private_key.public_key()

    @property
    def wechatpay_public_key(self) -> rsa.RSAPublicKey:
        return self.wechatpay_private_key.public_key()

    @property
    def wechatpay_public_key_pem(self) -> str:
        return _public_pem(self.wechatpay_public_key).decode()

    @classmethod
    def load_or_create(cls, state_dir: Path) -> Credentials:
        state_dir.mkdir(parents=True, exist_ok=True)
        if (state_dir / CREDENTIALS_FILE).exists():
            return cls._load(state_dir)
        credentials = cls._generate()
        credentials._write_key_files(state_dir)
        return credentials

    @classmethod
    def _generate(cls) -> Credentials:
        return cls(
            sp_mchid=DEFAULT_SP_MCHID,
            sp_cert_serial=secrets.token_hex(20).upper(),
            apiv3_key=_random_text(32),
            wechatpay_public_key_id="PUB_KEY_ID_01" + _random_digits(26),
            secret_seed=secrets.token_hex(32),
            sp_private_key=_new_rsa_key(),
            wechatpay_private_key=_new_rsa_key(),
        )

    @classmethod
    def _load(cls, state_dir: Path) -> Credentials:
        identity = json.loads((state_dir / CREDENTIALS_FILE).read_text())
        return cls(
            sp_mchid=identity["sp_mchid"],
            sp_cert_serial=(state_dir / SP_CERT_SERIAL_FILE).read_text().strip(),
            apiv3_key=(state_dir / APIV3_KEY_FILE).read_text().strip(),
            wechatpay_public_key_id=(state_dir / WECHATPAY_PUBLIC_KEY_ID_FILE).read_text().strip(),
            secret_seed=identity["secret_seed"],
            sp_private_key=_load_private(state_dir / SP_PRIVATE_KEY_FILE),
            wechatpay_private_key=_load_private(state_dir / WECHATPAY_PRIVATE_KEY_FILE),
        )

    def _write_key_files(self, state_dir: Path) -> None:
        _write_secret(state_dir / SP_PRIVATE_KEY_FILE, _private_pem(self.sp_private_key))
        _write_secret(
            state_dir / WECHATPAY_PRIVATE_KEY_FILE, _private_pem(self.wechatpay_private_key)
        )
        _write_secret(state_dir / APIV3_KEY_FILE, self.apiv3_key.encode() + b"\n")
        (state_dir / SP_CERT_SERIAL_FILE).write_text(self.sp_cert_serial + "\n")
        (state_dir / WECHATPAY_PUBLIC_KEY_FILE).write_bytes(_public_pem(self.wechatpay_public_key))
        (state_dir / WECHATPAY_PUBLIC_KEY_ID_FILE).write_text(self.wechatpay_public_key_id + "\n")


def _new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _public_pem(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _load_private(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError(f"{path} is not an RSA private key")
    return key


def _write_secret(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    path.chmod(0o600)


def _random_text(length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _random_digits(length: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(length))
