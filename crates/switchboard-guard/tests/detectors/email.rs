use switchboard_guard::Detector::Email;

use super::{assert_finds, assert_ignores};

#[test]
fn finds_addresses_in_their_usual_forms() {
    for (text, address) in [
        (
            "write to jane.doe@example.com today",
            "jane.doe@example.com",
        ),
        ("JOHN+tag@mail.example.co.uk", "JOHN+tag@mail.example.co.uk"),
        (
            "From: Bob <bob_99@sub-domain.example.org>",
            "bob_99@sub-domain.example.org",
        ),
        ("mailto:a.b-c@x.io?subject=hi", "a.b-c@x.io"),
        (
            "(contact: ops%team@corp.example.travel).",
            "ops%team@corp.example.travel",
        ),
        ("e-mail: émile@exemple.fr", "mile@exemple.fr"),
    ] {
        assert_finds(Email, text, address);
    }
}

#[test]
fn ignores_strings_that_only_look_like_addresses() {
    for text in [
        "ssh user@localhost",
        "npm install lodash@4.17.21",
        "ping @handle on chat",
        "jane at example dot com",
        "user@example.c",
        "a..b@example.com",
        "[REDACTED:email]",
        "2024-01-15T10:30:00Z",
    ] {
        assert_ignores(Email, text);
    }
}
