//! Email addresses.
//!
//! A practical pattern, not RFC 5322: an ASCII local part of letters, digits and
//! `._%+-` (starting with a letter, digit or `_`, no `..`), `@`, one or more DNS labels
//! and a 2-24 letter top-level domain.
//!
//! Found: `jane.doe@example.com`, `JOHN+tag@mail.example.co.uk`, `<bob@x.io>`,
//! `mailto:a_b@sub-domain.example.org`, and the `user@host.tld` inside
//! `https://user:pw@host.tld` or `git@github.com:org/repo`.
//! Not found: `user@localhost` (no top-level domain), `lodash@4.17.21` (numeric "TLD"),
//! `@handle`, quoted or non-ASCII local parts, internationalised domains.
//! Known false positive: file names like `icon@2x.png` look exactly like an address.

use std::ops::Range;

use super::Pattern;

const EMAIL: &str = r"(?-u:\b)[A-Za-z0-9_][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?-u:\b)";

pub(crate) const PATTERNS: &[Pattern] = &[Pattern {
    source: EMAIL,
    refine: accept,
}];

fn accept(text: &str, candidate: Range<usize>) -> Option<Range<usize>> {
    let found = text.get(candidate.clone())?;
    let local = found.split('@').next()?;
    (!local.contains("..")).then_some(candidate)
}
