use switchboard_guard::Detector::CardNumber;

use super::{assert_finds, assert_ignores};

#[test]
fn finds_luhn_valid_numbers_of_known_issuers_however_grouped() {
    for (text, card) in [
        ("card 4111111111111111 exp 12/27", "4111111111111111"),
        ("Visa: 4111 1111 1111 1111.", "4111 1111 1111 1111"),
        ("mc 5555-5555-5555-4444", "5555-5555-5555-4444"),
        ("amex 3782 822463 10005 ok", "3782 822463 10005"),
        ("13 digits 4222222222222", "4222222222222"),
        ("mastercard 2221 0000 0000 0009", "2221 0000 0000 0009"),
        (
            "19 digits 6011 0000 0000 0000 001",
            "6011 0000 0000 0000 001",
        ),
        ("(4111-1111-1111-1111)", "4111-1111-1111-1111"),
    ] {
        assert_finds(CardNumber, text, card);
    }
}

#[test]
fn a_number_written_right_after_a_card_is_covered_with_it() {
    assert_finds(
        CardNumber,
        "4111 1111 1111 1111 0427 thanks",
        "4111 1111 1111 1111 0427",
    );
}

#[test]
fn ignores_numbers_failing_luhn_or_outside_issuer_ranges() {
    for text in [
        "card 4111 1111 1111 1112",
        "card 4111111111111121",
        "ts 1700000000000 ms",
        "at 20240115103000",
        "9111 1111 1111 1119",
    ] {
        assert_ignores(CardNumber, text);
    }
}

#[test]
fn ignores_card_digits_inside_longer_runs_words_and_decimals() {
    for text in [
        "41111111111111110",
        "id 24111111111111111",
        "ID4111111111111111",
        "4111111111111111abc",
        "pi 3.4111111111111111",
        "4111111111111111.5",
        "call +1 4111 1111 1111 1111",
    ] {
        assert_ignores(CardNumber, text);
    }
}

#[test]
fn ignores_dates_versions_uuids_and_order_numbers() {
    for text in [
        "2024-01-15 2024-02-16",
        "version 1.2.3.4 build 20240115",
        "id 550e8400-e29b-41d4-a716-446655440000",
        "id 12345678-1234-1234-1234-123456789012",
        "order 112-4455667-1234567",
        "phone 415-555-2671",
    ] {
        assert_ignores(CardNumber, text);
    }
}
