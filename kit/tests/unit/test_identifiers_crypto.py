"""Identity-number check digits, field encryption and subject hashes."""

import pytest
from tongban_kit.crypto import DecryptionError, FieldCipher, subject_hash
from tongban_kit.identifiers import (
    InvalidIdentifier,
    mask_resident_id,
    resident_id_check_digit,
    validate_resident_id,
    validate_uscc,
)

VALID_RID = "11010519491231002X"  # the GB 11643 example number
VALID_USCC = "91350100M000100Y43"


def test_resident_id_check_digit_of_the_standard_example() -> None:
    assert resident_id_check_digit(VALID_RID[:17]) == "X"
    assert validate_resident_id(VALID_RID.lower()) == VALID_RID


@pytest.mark.parametrize(
    "bad",
    ["110105194912310021", "11010519491231002", "1101051949123100XX", "110105194913310027", ""],
)
def test_resident_id_rejects_bad_numbers(bad: str) -> None:
    with pytest.raises(InvalidIdentifier):
        validate_resident_id(bad)


def test_uscc_check_character() -> None:
    assert validate_uscc(VALID_USCC) == VALID_USCC
    with pytest.raises(InvalidIdentifier):
        validate_uscc(VALID_USCC[:-1] + "1")
    with pytest.raises(InvalidIdentifier):
        validate_uscc("91350100M000100YI3")  # I is not in the alphabet


def test_mask_keeps_only_ends() -> None:
    assert mask_resident_id(VALID_RID) == "110105********002X"


@pytest.mark.parametrize("cipher", ["sm4-gcm", "aes-256-gcm"])
def test_field_cipher_round_trip_and_tamper(cipher: str) -> None:
    fc = FieldCipher("a-field-key-of-enough-length-123", cipher)  # type: ignore[arg-type]
    token = fc.encrypt(VALID_RID, b"persons")
    assert VALID_RID not in token
    assert fc.decrypt(token, b"persons") == VALID_RID
    assert fc.encrypt(VALID_RID) != fc.encrypt(VALID_RID)  # fresh nonce each time
    with pytest.raises(DecryptionError):
        fc.decrypt(token, b"other-context")
    with pytest.raises(DecryptionError):
        FieldCipher("another-key-entirely-different!!", cipher).decrypt(token, b"persons")  # type: ignore[arg-type]


def test_cipher_reads_what_the_other_default_wrote() -> None:
    old = FieldCipher("key-material-0123456789abcdef", "aes-256-gcm").encrypt("13800138000")
    assert FieldCipher("key-material-0123456789abcdef", "sm4-gcm").decrypt(old) == "13800138000"


def test_subject_hash_is_keyed_and_case_insensitive() -> None:
    a = subject_hash(VALID_RID, "k1")
    assert a == subject_hash(VALID_RID.lower(), "k1")
    assert a != subject_hash(VALID_RID, "k2")
    assert len(a) == 64


def test_key_ring_rotation_keeps_old_data_readable() -> None:
    old = FieldCipher("k1:first-key-material-0123456789")
    token = old.encrypt("13800138000", b"phone")
    assert old.key_id_of(token) == "k1"
    rotated = FieldCipher("k2:second-key-material-abcdefgh,k1:first-key-material-0123456789")
    assert rotated.decrypt(token, b"phone") == "13800138000"
    fresh = rotated.reencrypt(token, b"phone")
    assert rotated.key_id_of(fresh) == "k2"
    assert rotated.reencrypt(fresh, b"phone") == fresh
    with pytest.raises(DecryptionError):
        FieldCipher("k2:second-key-material-abcdefgh").decrypt(token, b"phone")
