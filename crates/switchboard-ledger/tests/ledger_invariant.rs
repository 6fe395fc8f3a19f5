//! The owner's book and the nodes' lease tables, driven together through random
//! histories: reservations, grants, settlements (some reported twice), releases,
//! returned leases and period changes, with every message between a node and the owner
//! delivered in a random order. The limit must hold at every step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use switchboard_ledger::{
    LeaseTable, Metric, Quota, QuotaId, QuotaLedger, Scope, Settlement, Window,
};

const MINUTE: u64 = 60_000;

#[derive(Debug, Clone)]
enum Op {
    Reserve {
        node: usize,
        amount: i64,
    },
    Settle {
        node: usize,
        pick: usize,
        percent: i64,
        twice: bool,
    },
    Release {
        node: usize,
        pick: usize,
    },
    GiveBack {
        node: usize,
    },
    Deliver {
        pick: usize,
    },
    NextMinute,
}

/// A message on its way between a node and the owner.
#[derive(Debug, Clone)]
enum Msg {
    Credit {
        node: usize,
        period: u64,
        amount: i64,
    },
    Settle {
        node: usize,
        settlement: Settlement,
    },
    GiveBack {
        node: usize,
        period: u64,
        amount: i64,
    },
}

#[derive(Debug, Clone)]
struct InFlight {
    id: String,
    period: u64,
    amount: i64,
}

struct Sim {
    quota: Quota,
    owner: QuotaLedger,
    tables: Vec<LeaseTable>,
    in_flight: Vec<Vec<InFlight>>,
    pending: Vec<Msg>,
    now_ms: u64,
    next_id: u64,
    /// Real cost of every settled call, by the period it was reserved in.
    charged: BTreeMap<u64, i64>,
    /// Cost beyond the reservation, by period.
    overrun: BTreeMap<u64, i64>,
}

fn node_name(node: usize) -> String {
    format!("node-{node}")
}

impl Sim {
    fn new(limit: i64, nodes: usize) -> Self {
        let id = QuotaId::new(Scope::Tenant("acme".into()), Metric::Money, Window::Minute);
        Self {
            quota: Quota::new(id, limit),
            owner: QuotaLedger::new(limit),
            tables: vec![LeaseTable::new(); nodes],
            in_flight: vec![Vec::new(); nodes],
            pending: Vec::new(),
            now_ms: 10 * MINUTE,
            next_id: 0,
            charged: BTreeMap::new(),
            overrun: BTreeMap::new(),
        }
    }

    fn apply(&mut self, op: Op) {
        let nodes = self.tables.len();
        match op {
            Op::Reserve { node, amount } => {
                let node = node % nodes;
                match self.tables[node].try_reserve(&self.quota, self.now_ms, amount) {
                    Ok(period) => {
                        self.next_id += 1;
                        let id = format!("r{}", self.next_id);
                        self.in_flight[node].push(InFlight { id, period, amount });
                    }
                    Err(need) => {
                        let grant =
                            self.owner
                                .grant(need.period, &node_name(node), need.want, need.min);
                        assert!(grant.amount == 0 || grant.amount >= need.min);
                        if grant.amount > 0 {
                            self.pending.push(Msg::Credit {
                                node,
                                period: grant.period,
                                amount: grant.amount,
                            });
                        }
                    }
                }
            }
            Op::Settle {
                node,
                pick,
                percent,
                twice,
            } => {
                let node = node % nodes;
                if self.in_flight[node].is_empty() {
                    return;
                }
                let calls = &mut self.in_flight[node];
                let call = calls.swap_remove(pick % calls.len());
                let charged = call.amount * percent / 100;
                self.tables[node].settle(&self.quota.id, call.period, call.amount, charged);
                *self.charged.entry(call.period).or_default() += charged;
                *self.overrun.entry(call.period).or_default() += (charged - call.amount).max(0);
                let settlement = Settlement {
                    request_id: call.id.into(),
                    period: call.period,
                    reserved: call.amount,
                    charged,
                    stream: 0,
                    seq: 0,
                };
                if twice {
                    self.pending.push(Msg::Settle {
                        node,
                        settlement: settlement.clone(),
                    });
                }
                self.pending.push(Msg::Settle { node, settlement });
            }
            Op::Release { node, pick } => {
                let node = node % nodes;
                if self.in_flight[node].is_empty() {
                    return;
                }
                let calls = &mut self.in_flight[node];
                let call = calls.swap_remove(pick % calls.len());
                self.tables[node].release(&self.quota.id, call.period, call.amount);
            }
            Op::GiveBack { node } => {
                let node = node % nodes;
                if let Some((period, amount)) =
                    self.tables[node].take_free(&self.quota.id, self.now_ms)
                {
                    self.pending.push(Msg::GiveBack {
                        node,
                        period,
                        amount,
                    });
                }
            }
            Op::Deliver { pick } => {
                if !self.pending.is_empty() {
                    let msg = self.pending.remove(pick % self.pending.len());
                    self.deliver(msg);
                }
            }
            Op::NextMinute => self.now_ms += MINUTE,
        }
    }

    fn deliver(&mut self, msg: Msg) {
        match msg {
            Msg::Credit {
                node,
                period,
                amount,
            } => self.tables[node].credit(&self.quota.id, period, amount),
            Msg::Settle { node, settlement } => {
                self.owner.settle(&node_name(node), &settlement);
            }
            Msg::GiveBack {
                node,
                period,
                amount,
            } => self.owner.give_back(&node_name(node), period, amount),
        }
    }

    fn deliver_all(&mut self) {
        while !self.pending.is_empty() {
            let msg = self.pending.remove(0);
            self.deliver(msg);
        }
    }

    /// What must hold after every step.
    fn check(&self) {
        let period = self.owner.period();
        let overrun = self.overrun.get(&period).copied().unwrap_or(0);
        assert!(
            self.owner.spent() + self.owner.leased() <= self.owner.limit() + overrun,
            "spent {} + leased {} > limit {} (+ overrun {overrun})",
            self.owner.spent(),
            self.owner.leased(),
            self.owner.limit(),
        );
        // The owner never counts less than a node holds, or the node could spend
        // capacity the owner has granted to someone else.
        for (node, table) in self.tables.iter().enumerate() {
            let held = table.held(&self.quota.id, self.now_ms);
            if held.period == period {
                let holding = held.free + held.reserved;
                assert!(
                    self.owner.lease_of(&node_name(node)) >= holding,
                    "owner counts {} for {node}, which holds {holding}",
                    self.owner.lease_of(&node_name(node)),
                );
            }
        }
    }

    /// Settles every call, returns every free lease and delivers everything.
    fn wind_down(&mut self) {
        self.deliver_all();
        for node in 0..self.tables.len() {
            while !self.in_flight[node].is_empty() {
                self.apply(Op::Settle {
                    node,
                    pick: 0,
                    percent: 100,
                    twice: false,
                });
            }
            self.apply(Op::GiveBack { node });
        }
        self.deliver_all();
        self.check();
    }
}

fn op(max_percent: i64) -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0..3usize, 0..30i64).prop_map(|(node, amount)| Op::Reserve { node, amount }),
        4 => (0..3usize, any::<usize>(), 0..=max_percent, proptest::bool::weighted(0.2))
            .prop_map(|(node, pick, percent, twice)| Op::Settle { node, pick, percent, twice }),
        1 => (0..3usize, any::<usize>()).prop_map(|(node, pick)| Op::Release { node, pick }),
        1 => (0..3usize).prop_map(|node| Op::GiveBack { node }),
        6 => any::<usize>().prop_map(|pick| Op::Deliver { pick }),
        1 => Just(Op::NextMinute),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_history_of_reservations_and_settlements_breaks_the_limit(
        limit in 1..300i64,
        nodes in 1..=3usize,
        ops in proptest::collection::vec(op(100), 1..150),
    ) {
        let mut sim = Sim::new(limit, nodes);
        for op in ops {
            sim.apply(op);
            sim.check();
        }
        sim.wind_down();
        // Everything settled and returned: the owner's spend is exactly what was charged
        // in each period it still remembers, and no lease is left.
        let current = sim.owner.period();
        prop_assert_eq!(sim.owner.spent(), sim.charged.get(&current).copied().unwrap_or(0));
        for (period, charged) in &sim.charged {
            if let Some(spent) = sim.owner.spent_in(*period) {
                prop_assert_eq!(spent, *charged, "period {}", period);
            }
        }
        let now_period = Window::Minute.period(sim.now_ms);
        if current == now_period {
            prop_assert_eq!(sim.owner.leased(), 0);
            prop_assert!(sim.owner.spent() <= limit);
        }
    }

    #[test]
    fn calls_costing_more_than_reserved_exceed_the_limit_by_no_more_than_the_overrun(
        limit in 1..300i64,
        nodes in 1..=3usize,
        ops in proptest::collection::vec(op(150), 1..150),
    ) {
        let mut sim = Sim::new(limit, nodes);
        for op in ops {
            sim.apply(op);
            sim.check();
        }
        sim.wind_down();
        let current = sim.owner.period();
        prop_assert_eq!(sim.owner.spent(), sim.charged.get(&current).copied().unwrap_or(0));
    }
}
