"""``python -m data_exchange_svc.entrypoints.rekey``: re-encrypt the stored hub keys under the active key."""

from __future__ import annotations

import sys

from tongban_kit.rekey import EncryptedColumns, main

from data_exchange_svc.adapters.orm import HubKeyRow
from data_exchange_svc.adapters.signing import KEY_AAD
from data_exchange_svc.config import get_settings

# Every column holding FieldCipher text, with the associated data it was sealed with.
ENCRYPTED = [
    EncryptedColumns(
        HubKeyRow,
        ("private_jwk",),
        lambda row: KEY_AAD,
    ),
]

if __name__ == "__main__":
    sys.exit(main(get_settings(), ENCRYPTED))
