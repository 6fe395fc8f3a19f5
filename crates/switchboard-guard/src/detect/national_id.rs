//! National identification numbers: US Social Security numbers and UK National Insurance
//! numbers. No other country's ids are detected yet.
//!
//! **US SSN**: `AAA-GG-SSSS` written with dashes or spaces (the same separator twice),
//! [standing alone](crate::digits), and valid as issued: area not `000`,
//! `666` or `900`-`999`, group not `00`, serial not `0000`. Nine digits without
//! separators are not matched: they are as often order numbers, zip+4 codes or ids.
//!
//! **UK NINO**: two prefix letters, six digits, a suffix letter `A`-`D`, upper case, with
//! optional single spaces (`AB 12 34 56 C`, `AB123456C`). Per HMRC's rules the first
//! letter is not D, F, I, Q, U or V, the second not D, F, I, O, Q, U or V, and the
//! prefixes BG, GB, KN, NK, NT, TN and ZZ are never issued (so the HMRC example
//! `QQ 12 34 56 C` is not matched). Lower-case forms are not matched, for precision.

use std::ops::Range;

use super::Pattern;
use crate::digits;

const SSN: &str = r"[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}";
const NINO: &str =
    r"(?-u:\b)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D](?-u:\b)";

pub(crate) const PATTERNS: &[Pattern] = &[
    Pattern {
        source: SSN,
        refine: accept_ssn,
    },
    Pattern {
        source: NINO,
        refine: accept_nino,
    },
];

fn accept_ssn(text: &str, candidate: Range<usize>) -> Option<Range<usize>> {
    if !digits::stands_alone(text, &candidate) {
        return None;
    }
    let found = text.get(candidate.clone())?;
    let (area, group, serial) = (found.get(..3)?, found.get(4..6)?, found.get(7..)?);
    let same_separator = found.get(3..4)? == found.get(6..7)?;
    let area_issued = area != "000" && area != "666" && !area.starts_with('9');
    let ok = same_separator && area_issued && group != "00" && serial != "0000";
    ok.then_some(candidate)
}

const NEVER_ISSUED: [&str; 7] = ["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"];

fn accept_nino(text: &str, candidate: Range<usize>) -> Option<Range<usize>> {
    let prefix = text.get(candidate.start..candidate.start + 2)?;
    (!NEVER_ISSUED.contains(&prefix)).then_some(candidate)
}
