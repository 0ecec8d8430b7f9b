"""``python -m case_svc.entrypoints.rekey``: re-encrypt the cases' personal data under the active key."""

from __future__ import annotations

import sys

from tongban_kit.rekey import EncryptedColumns, main

from case_svc.adapters.orm import CaseRow, MessageRow
from case_svc.config import get_settings

# Every column holding FieldCipher text, with the associated data it was sealed with (the case id).
ENCRYPTED = [
    EncryptedColumns(
        CaseRow,
        ("applicant_name_enc", "applicant_id_enc", "delivery_address_enc", "form_enc"),
        lambda row: str(row["id"]).encode(),
    ),
    EncryptedColumns(
        MessageRow,
        ("body_enc",),
        lambda row: str(row["case_id"]).encode(),
        associated_columns=("case_id",),
    ),
]

if __name__ == "__main__":
    sys.exit(main(get_settings(), ENCRYPTED))
