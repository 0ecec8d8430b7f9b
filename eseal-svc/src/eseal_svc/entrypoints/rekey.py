"""``python -m eseal_svc.entrypoints.rekey``: re-encrypt licence holders and credentials."""

from __future__ import annotations

import sys

from tongban_kit.rekey import EncryptedColumns, main

from eseal_svc.adapters.orm import LicenceRow
from eseal_svc.config import get_settings
from eseal_svc.service_layer.licences import credential_aad

# Every column holding FieldCipher text, with the associated data it was sealed with.
ENCRYPTED = [
    EncryptedColumns(
        LicenceRow,
        ("holder_id_encrypted", "credential_encrypted"),
        lambda row: credential_aad(str(row["id"])),
    ),
]

if __name__ == "__main__":
    sys.exit(main(get_settings(), ENCRYPTED))
