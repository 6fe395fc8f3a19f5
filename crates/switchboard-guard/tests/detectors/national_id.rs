use switchboard_guard::Detector::NationalId;

use super::{assert_finds, assert_ignores};

#[test]
fn finds_us_social_security_numbers() {
    for (text, ssn) in [
        ("SSN 123-45-6789.", "123-45-6789"),
        ("ssn: 078 05 1120", "078 05 1120"),
        ("(665-01-0001)", "665-01-0001"),
        ("899-99-9999", "899-99-9999"),
    ] {
        assert_finds(NationalId, text, ssn);
    }
}

#[test]
fn ignores_numbers_no_ssn_is_issued_with() {
    for text in [
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "987-65-4321",
        "123-00-4567",
        "123-45-0000",
    ] {
        assert_ignores(NationalId, text);
    }
}

#[test]
fn ignores_ssn_shapes_that_are_something_else() {
    for text in [
        "123456789",
        "123-45 6789",
        "1-123-45-6789",
        "123-45-6789-0",
        "x123-45-6789",
        "2024-01-15",
        "call 415-555-2671",
    ] {
        assert_ignores(NationalId, text);
    }
}

#[test]
fn finds_uk_national_insurance_numbers() {
    for (text, nino) in [
        ("NI number AB123456C.", "AB123456C"),
        ("NINO: JG 10 37 59 A", "JG 10 37 59 A"),
        ("ce 12 34 56 d? no: CE 12 34 56 D", "CE 12 34 56 D"),
    ] {
        assert_finds(NationalId, text, nino);
    }
}

#[test]
fn ignores_ninos_with_letters_hmrc_never_issues() {
    for text in [
        "QQ123456C",
        "DA123456C",
        "AO123456C",
        "GB123456A",
        "ZZ123456A",
        "AB123456E",
        "ab123456c",
        "XAB123456C",
    ] {
        assert_ignores(NationalId, text);
    }
}
