//! Keys are assembled at run time so this file itself holds nothing a secret scanner
//! would flag.

use switchboard_guard::Detector::Secret;

use super::{assert_finds, assert_ignores};

fn random_like(len: usize) -> String {
    "aZ3kQ9xW2mP7rT5vB8nC4yL6hJ1dF0gS"
        .chars()
        .cycle()
        .take(len)
        .collect()
}

#[test]
fn finds_provider_api_keys() {
    let body = random_like(48);
    for key in [
        format!("sk-{body}"),
        format!("sk-proj-{body}"),
        format!("sk-ant-api03-{body}"),
        "AKIAIOSFODNN7EXAMPLE".to_owned(),
        format!("ghp_{}", random_like(36)),
        format!("github_pat_{}", random_like(40)),
        format!("xoxb-1234567890-{}", random_like(24)),
        format!("AIza{}", random_like(35)),
        format!("sk_live_{}", random_like(24)),
    ] {
        assert_finds(Secret, &format!("my key is {key} ok"), &key);
    }
}

#[test]
fn finds_json_web_tokens() {
    let jwt = format!(
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.{}",
        random_like(43)
    );
    assert_finds(Secret, &format!("Authorization: Bearer {jwt}"), &jwt);
}

#[test]
fn finds_pem_private_keys_through_their_end_line() {
    let body = format!("{}\n{}\n", random_like(64), random_like(20));
    for kind in ["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED "] {
        let pem =
            format!("-----BEGIN {kind}PRIVATE KEY-----\n{body}-----END {kind}PRIVATE KEY-----");
        assert_finds(Secret, &format!("here:\n{pem}\nthanks"), &pem);
    }
}

#[test]
fn finds_a_truncated_pem_key_with_its_base64_lines() {
    let key = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n{}",
        random_like(64),
        random_like(64)
    );
    assert_finds(Secret, &format!("{key}\n\nwhat is this?"), &key);
}

#[test]
fn ignores_look_alikes_and_public_material() {
    for text in [
        "pip install sk-learn-extensions-for-everything".to_owned(),
        "sk-this-is-a-long-hyphenated-phrase".to_owned(),
        "task-0123456789abcdefghij".to_owned(),
        "AKIA1234".to_owned(),
        "ghp_short".to_owned(),
        "-----BEGIN PUBLIC KEY-----".to_owned(),
        "-----BEGIN CERTIFICATE-----".to_owned(),
        "commit 3f786850e387550fdab836ed7e6dc881de23001b".to_owned(),
        "uuid 550e8400e29b41d4a716446655440000".to_owned(),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_owned(),
    ] {
        assert_ignores(Secret, &text);
    }
}
