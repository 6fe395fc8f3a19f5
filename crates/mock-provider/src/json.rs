//! Tiny hand-rolled JSON writing helpers.
//!
//! Responses are rendered straight into one pre-sized `String` instead of
//! building a `serde_json::Value` tree: the mock sits under benchmarks that push
//! 100k+ requests per second, and a value tree costs dozens of allocations per
//! response. Only strings that may come from the client (model names, tool
//! names, prompt words) need escaping; the fixed vocabulary never does.

use std::fmt::Write as _;

/// Appends `s` as a quoted, escaped JSON string.
pub(crate) fn push_str(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

/// Appends `s` escaped for use inside a JSON string (no surrounding quotes).
pub(crate) fn push_escaped(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Appends an unsigned integer.
pub(crate) fn push_u64(out: &mut String, n: u64) {
    let _ = write!(out, "{n}");
}

/// Appends a float in JSON form (finite values only; non-finite become 0).
pub(crate) fn push_f32(out: &mut String, v: f32) {
    if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        out.push('0');
    }
}

/// Appends `n` as lowercase hex (ids such as `chatcmpl-1f`).
pub(crate) fn push_hex(out: &mut String, n: u64) {
    let _ = write!(out, "{n:x}");
}

/// Standard base64 (with padding) of `bytes`, as OpenAI returns embeddings
/// when the client asks for `encoding_format: "base64"` (the Python SDK's
/// default).
pub(crate) fn push_base64(out: &mut String, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| char::from(ALPHABET[((n >> shift) & 63) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip_through_serde() {
        let nasty = "a\"b\\c\nd\te\u{1}f é";
        let mut out = String::new();
        push_str(&mut out, nasty);
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, nasty);
    }

    #[test]
    fn base64_matches_reference() {
        let mut out = String::new();
        push_base64(&mut out, b"any carnal pleas");
        assert_eq!(out, "YW55IGNhcm5hbCBwbGVhcw==");
        out.clear();
        push_base64(&mut out, b"any carnal pleasu");
        assert_eq!(out, "YW55IGNhcm5hbCBwbGVhc3U=");
        out.clear();
        push_base64(&mut out, b"any carnal pleasur");
        assert_eq!(out, "YW55IGNhcm5hbCBwbGVhc3Vy");
    }
}
