//! W3C trace context: `traceparent` taken from the client (or started here), handed to
//! the upstream as this hop's child, and echoed back, so a call can be followed across
//! the app, the gateway and the provider.

use std::cell::Cell;

use http::HeaderMap;
use http::header::HeaderValue;

pub const TRACEPARENT: &str = "traceparent";

/// One hop's trace context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub sampled: bool,
}

/// Random bytes for trace and span ids. Ids need uniqueness, not secrecy, so they come
/// from a per-thread SplitMix64 generator seeded once from the OS (falling back to the
/// clock), not from a `getrandom` system call per id: two per request showed in `strace`.
fn random<const N: usize>() -> [u8; N] {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
    }
    let mut buf = [0u8; N];
    STATE.with(|state| {
        for chunk in buf.chunks_mut(8) {
            let next = splitmix64(state);
            chunk.copy_from_slice(&next.to_le_bytes()[..chunk.len()]);
        }
    });
    // The W3C spec makes all-zero ids invalid.
    if buf.iter().all(|b| *b == 0) {
        buf[N - 1] = 1;
    }
    buf
}

fn seed() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        // Threads seeded in the same nanosecond still differ: std's hasher keys are
        // per thread.
        std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), nanos)
    })
}

/// One step of SplitMix64 (Steele, Lea and Flood): every output of a 2^64 period.
fn splitmix64(state: &Cell<u64>) -> u64 {
    let s = state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
    state.set(s);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hex_into(s: &str, out: &mut [u8]) -> Option<()> {
    (s.len() == out.len() * 2
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    .then(|| hex::decode_to_slice(s, out).ok())
    .flatten()
}

impl TraceContext {
    /// Parses a version-00 `traceparent`; all-zero ids are invalid per the spec.
    pub fn parse(value: &str) -> Option<TraceContext> {
        let mut parts = value.trim().split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != "00" || parts.next().is_some() {
            return None;
        }
        let mut ctx = TraceContext {
            trace_id: [0; 16],
            span_id: [0; 8],
            sampled: false,
        };
        hex_into(trace, &mut ctx.trace_id)?;
        hex_into(span, &mut ctx.span_id)?;
        let mut f = [0u8; 1];
        hex_into(flags, &mut f)?;
        ctx.sampled = f[0] & 1 == 1;
        (ctx.trace_id != [0; 16] && ctx.span_id != [0; 8]).then_some(ctx)
    }

    /// This hop's context: a child of the client's, or a new trace.
    pub fn for_request(headers: &HeaderMap) -> TraceContext {
        let parent = headers
            .get(TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .and_then(TraceContext::parse);
        match parent {
            Some(p) => TraceContext {
                span_id: random(),
                ..p
            },
            None => TraceContext {
                trace_id: random(),
                span_id: random(),
                sampled: true,
            },
        }
    }

    /// `00-{trace id}-{span id}-{flags}`, written into a fixed buffer: this runs twice
    /// per call, and `format!` with `hex::encode` cost three allocations each time.
    pub fn header(&self) -> HeaderValue {
        let mut text = [0u8; 55];
        text[..3].copy_from_slice(b"00-");
        let hexed = hex::encode_to_slice(self.trace_id, &mut text[3..35])
            .and_then(|()| hex::encode_to_slice(self.span_id, &mut text[36..52]))
            .and_then(|()| hex::encode_to_slice([u8::from(self.sampled)], &mut text[53..55]));
        text[35] = b'-';
        text[52] = b'-';
        match hexed.map(|()| HeaderValue::from_bytes(&text)) {
            Ok(Ok(value)) => value,
            _ => {
                HeaderValue::from_static("00-00000000000000000000000000000001-0000000000000001-00")
            }
        }
    }

    pub fn trace_id_hex(&self) -> String {
        hex::encode(self.trace_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_trace_is_continued_with_a_new_span() {
        let mut h = HeaderMap::new();
        h.insert(
            TRACEPARENT,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        let ctx = TraceContext::for_request(&h);
        assert_eq!(ctx.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(hex::encode(ctx.span_id), "00f067aa0ba902b7");
        assert!(ctx.sampled);
        let header = ctx.header();
        let expected = format!("00-{}-{}-01", ctx.trace_id_hex(), hex::encode(ctx.span_id));
        assert_eq!(header.to_str().unwrap(), expected);
        assert_eq!(TraceContext::parse(header.to_str().unwrap()), Some(ctx));
    }

    #[test]
    fn invalid_parents_start_a_new_trace() {
        for bad in [
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f35-00f067aa0ba902b7-01",
            "garbage",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
        let fresh = TraceContext::for_request(&HeaderMap::new());
        assert_ne!(fresh.trace_id, [0; 16]);
    }

    #[test]
    fn ids_differ_between_calls_and_threads() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let ctx = TraceContext::for_request(&HeaderMap::new());
            assert!(seen.insert(ctx.trace_id), "a trace id came twice");
            assert_ne!(ctx.span_id, [0; 8]);
        }
        let other: Vec<[u8; 16]> = std::thread::spawn(|| {
            (0..1000)
                .map(|_| TraceContext::for_request(&HeaderMap::new()).trace_id)
                .collect()
        })
        .join()
        .unwrap();
        assert!(other.iter().all(|id| !seen.contains(id)));
    }
}
