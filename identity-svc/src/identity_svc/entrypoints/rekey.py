"""``python -m identity_svc.entrypoints.rekey``: re-encrypt personal data and keys under the active key."""

from __future__ import annotations

import sys

from tongban_kit.rekey import EncryptedColumns, main

from identity_svc.adapters.orm import LegalPersonRow, NaturalPersonRow, SigningKeyRow
from identity_svc.config import get_settings

# Every column holding FieldCipher text, with the associated data it was sealed with (the row's key).
ENCRYPTED = [
    EncryptedColumns(
        NaturalPersonRow,
        ("resident_id_enc", "phone_enc", "totp_secret_enc"),
        lambda row: str(row["id"]).encode(),
    ),
    EncryptedColumns(
        LegalPersonRow,
        ("uscc_enc",),
        lambda row: str(row["id"]).encode(),
    ),
    EncryptedColumns(
        SigningKeyRow,
        ("private_jwk_enc",),
        lambda row: str(row["kid"]).encode(),
    ),
]

if __name__ == "__main__":
    sys.exit(main(get_settings(), ENCRYPTED))
