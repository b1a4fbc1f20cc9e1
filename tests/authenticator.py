"""A WebAuthn authenticator in Python, for the tests that must answer what no browser would:
an assertion for another site (origin, RP ID), for another challenge, without user verification.

It follows WebAuthn Level 3 §6.1 (authenticator data), §6.5 ("none" attestation) and §6.3.3
(assertion signatures) with an ES256 key, like a security key would; Chromium's own virtual
authenticator covers the browser path (tests/browser/test_factors.py).
"""

import base64
import hashlib
import json
import os

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


class SoftAuthenticator:
    """One passkey: a P-256 key pair and its credential ID, with a sign counter."""

    def __init__(self, origin: str, *, synced: bool = False):
        self.origin = origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.sign_count = 0
        self.user_handle = b""
        self.synced = synced

    @property
    def id(self) -> str:
        return b64url(self.credential_id)

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )

    def _flags(self, base: int, verified: bool) -> int:
        flags = base | UP | (UV if verified else 0)
        return flags | (BE | BS if self.synced else 0)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}
        ).encode()

    def _credential(self, response: dict) -> str:
        """A PublicKeyCredential as the browser's JSON (what @simplewebauthn/browser posts)."""
        return json.dumps(
            {
                "id": self.id,
                "rawId": self.id,
                "type": "public-key",
                "response": response,
                "clientExtensionResults": {},
            }
        )

    def create(self, options: dict | str, *, origin: str | None = None, rp_id: str | None = None) -> str:
        """navigator.credentials.create(): the registration response's JSON."""
        options = json.loads(options) if isinstance(options, str) else options
        self.user_handle = b64decode(options["user"]["id"])
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        rp_hash = hashlib.sha256((rp_id or options["rp"]["id"]).encode()).digest()
        attested = (
            bytes(16) + len(self.credential_id).to_bytes(2, "big") + self.credential_id + self._cose_key()
        )
        auth_data = rp_hash + bytes([self._flags(AT, True)]) + self.sign_count.to_bytes(4, "big") + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return self._credential(
            {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            }
        )

    def get(
        self,
        options: dict | str,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: str | None = None,
        verified: bool = True,
    ) -> str:
        """navigator.credentials.get(): the authentication response's JSON."""
        options = json.loads(options) if isinstance(options, str) else options
        self.sign_count += 1
        client_data = self._client_data("webauthn.get", challenge or options["challenge"], origin)
        rp_hash = hashlib.sha256((rp_id or options["rpId"]).encode()).digest()
        auth_data = rp_hash + bytes([self._flags(0, verified)]) + self.sign_count.to_bytes(4, "big")
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return self._credential(
            {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(self.user_handle),
            }
        )
