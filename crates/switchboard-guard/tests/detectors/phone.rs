use switchboard_guard::Detector::Phone;

use super::{assert_finds, assert_ignores};

#[test]
fn finds_international_numbers() {
    for (text, phone) in [
        ("call +1 415 555 2671 now", "+1 415 555 2671"),
        ("tel:+14155552671", "+14155552671"),
        ("London +44 (0)20 7946 0958.", "+44 (0)20 7946 0958"),
        ("Paris +33 6 12 34 56 78", "+33 6 12 34 56 78"),
        ("Berlin +49-30-1234-5678", "+49-30-1234-5678"),
        ("+1 (415) 555-2671", "+1 (415) 555-2671"),
    ] {
        assert_finds(Phone, text, phone);
    }
}

#[test]
fn finds_national_numbers_written_with_separators() {
    for (text, phone) in [
        ("call (415) 555-2671 today", "(415) 555-2671"),
        ("415-555-2671", "415-555-2671"),
        ("fax 415.555.2671.", "415.555.2671"),
        ("toll free 1-800-555-0199", "1-800-555-0199"),
        ("office 020 7946 0958", "020 7946 0958"),
        ("portable 06 12 34 56 78", "06 12 34 56 78"),
        ("Büro 030 12345678", "030 12345678"),
    ] {
        assert_finds(Phone, text, phone);
    }
}

#[test]
fn ignores_plain_digit_strings_and_short_numbers() {
    for text in [
        "order 4155552671",
        "ts 1700000000",
        "ext 555-2671",
        "+1 555 1234",
        "+1 415 555 2671 1234 5678",
    ] {
        assert_ignores(Phone, text);
    }
}

#[test]
fn ignores_dates_times_addresses_and_versions() {
    for text in [
        "on 2024-01-15 10:30",
        "on 2024-01-15 1030 local",
        "am 15.01.2024 14 Uhr",
        "2024-01-15T10:30:00Z",
        "host 192.168.100.200",
        "build 10.0.19045.3693",
        "v 2.31.1024.88",
        "1.2.3.4",
    ] {
        assert_ignores(Phone, text);
    }
}

#[test]
fn ignores_card_numbers_ssns_ids_and_amounts() {
    for text in [
        "4111 1111 1111 1111",
        "3782 822463 10005",
        "ssn 123-45-6789",
        "invoice 2024-000123",
        "order 112-4455667-1234567",
        "id 550e8400-e29b-41d4-a716-446655440000",
        "1 000 000 000 EUR",
        "ref x415-555-2671",
        "ISBN 0-306-40615-2",
    ] {
        assert_ignores(Phone, text);
    }
}

#[test]
fn ignores_lists_of_equal_width_numbers() {
    for text in [
        "years 2023 2024 2025",
        "scores 100 200 300 400",
        "between 100-200-300 units",
        "Order #A-1234-5678-9012",
    ] {
        assert_ignores(Phone, text);
    }
}
