//! How much lease a node asks for.
//!
//! A lease is a trade-off. Large leases mean the hot path almost never waits on the
//! owner; small leases mean capacity is not stranded on one node while another is
//! refused. The node asks for what it will use in the next [`REFILL_HORIZON_MS`] at its
//! recent rate for that quota, at least the reservation at hand, and at most
//! `limit / `[`LIMIT_SHARE`], so a handful of nodes can always share a quota:
//!
//! ```text
//! want = clamp(rate_per_second * REFILL_HORIZON_MS / 1000, amount, limit / LIMIT_SHARE)
//! ```
//!
//! plus whatever the node owes (see [`crate::owner`]). The node also sends a `min`: the
//! shortfall of the reservation at hand. Near the limit the owner grants less than
//! `want`, down to exactly that shortfall, so the last reservations of a period are
//! admitted one by one and the edge is exact: a request is refused only when the owner's
//! headroom plus the node's own free lease cannot cover it.
//!
//! The rate is the demand (reserved amounts, including refused attempts) over the last
//! one-second bucket or the current one, whichever is larger, so a burst is seen at once
//! and a quiet quota decays to single-reservation leases within two seconds.

/// The stretch of demand a lease should cover.
pub const REFILL_HORIZON_MS: i64 = 2_000;

/// No single lease request asks for more than `limit / LIMIT_SHARE`.
pub const LIMIT_SHARE: i64 = 4;

const BUCKET_MS: u64 = 1_000;

/// A node's recent demand on one quota, in the quota's unit per second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateMeter {
    bucket: u64,
    current: i64,
    previous: i64,
}

impl RateMeter {
    pub fn record(&mut self, now_ms: u64, amount: i64) {
        let bucket = now_ms / BUCKET_MS;
        if bucket > self.bucket {
            self.previous = if bucket == self.bucket + 1 {
                self.current
            } else {
                0
            };
            self.current = 0;
            self.bucket = bucket;
        }
        self.current = self.current.saturating_add(amount.max(0));
    }

    pub fn per_second(&self, now_ms: u64) -> i64 {
        let bucket = now_ms / BUCKET_MS;
        if bucket <= self.bucket {
            self.current.max(self.previous)
        } else if bucket == self.bucket + 1 {
            self.current
        } else {
            0
        }
    }
}

/// The lease to ask for, before adding any debt (see the module docs).
pub fn lease_want(rate_per_second: i64, amount: i64, limit: i64) -> i64 {
    let horizon = rate_per_second.saturating_mul(REFILL_HORIZON_MS) / 1_000;
    horizon.min(limit / LIMIT_SHARE).max(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_the_busier_of_the_last_two_seconds() {
        let mut meter = RateMeter::default();
        meter.record(10_000, 30);
        meter.record(10_500, 20);
        assert_eq!(meter.per_second(10_900), 50);
        meter.record(11_100, 5);
        assert_eq!(meter.per_second(11_200), 50);
        assert_eq!(meter.per_second(12_000), 5);
        assert_eq!(meter.per_second(13_000), 0);
    }

    #[test]
    fn a_lease_covers_two_seconds_of_demand() {
        assert_eq!(lease_want(50, 10, 1_000), 100);
    }

    #[test]
    fn a_lease_is_at_most_a_quarter_of_the_limit() {
        assert_eq!(lease_want(10_000, 10, 1_000), 250);
    }

    #[test]
    fn a_lease_always_covers_the_reservation_at_hand() {
        assert_eq!(lease_want(0, 10, 1_000), 10);
        assert_eq!(lease_want(10_000, 10, 20), 10);
    }
}
