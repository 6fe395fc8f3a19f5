#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Choosing the alias and ordering its deployments; shadow-mode arithmetic.

use switchboard_core::{Money, Price};
use switchboard_router::{
    Availability, Candidate, Estimate, Features, Rule, ShadowBook, SplitMix, Strategy, Tier,
    TierConfig, apply_rules, order, projected_savings, tier, tier_of,
};

fn cand(index: usize) -> Candidate {
    Candidate {
        index,
        weight: 1,
        price: Price::default(),
        in_flight: 0,
        ewma_ttfb_ms: None,
        context_window: None,
        available: Availability::Closed,
    }
}

fn est() -> Estimate {
    Estimate {
        input_tokens: 1_000,
        output_tokens: 500,
    }
}

fn run(strategy: Strategy, cands: &[Candidate]) -> Vec<usize> {
    order(strategy, cands, &est(), &mut SplitMix::seeded(42))
}

#[test]
fn priority_keeps_config_order_whatever_order_candidates_come_in() {
    let cands = [cand(2), cand(0), cand(1)];
    assert_eq!(run(Strategy::Priority, &cands), vec![0, 1, 2]);
}

#[test]
fn open_breakers_and_too_small_context_windows_are_left_out() {
    let mut cands = vec![cand(0), cand(1), cand(2), cand(3)];
    cands[0].available = Availability::Open { until_ms: 10 };
    cands[1].context_window = Some(1_499); // needs 1,000 in + 500 out
    cands[2].context_window = Some(1_500);
    for s in [
        Strategy::Priority,
        Strategy::Weighted,
        Strategy::LeastBusy,
        Strategy::Latency,
        Strategy::Cheapest,
    ] {
        let mut plan = run(s, &cands);
        plan.sort_unstable(); // weighted order is random
        assert_eq!(plan, vec![2, 3], "{s:?}");
    }
}

#[test]
fn nothing_to_try_is_an_empty_plan() {
    let mut c = cand(0);
    c.available = Availability::Open { until_ms: 1 };
    assert!(run(Strategy::Priority, &[c]).is_empty());
    assert!(run(Strategy::Weighted, &[]).is_empty());
}

#[test]
fn a_half_open_probe_goes_first_and_the_rest_keep_the_strategys_order() {
    let mut cands = vec![cand(0), cand(1), cand(2)];
    cands[2].available = Availability::HalfOpenProbe;
    assert_eq!(run(Strategy::Priority, &cands), vec![2, 0, 1]);
    cands[0].in_flight = 5;
    assert_eq!(run(Strategy::LeastBusy, &cands), vec![2, 1, 0]);
}

#[test]
fn least_busy_puts_the_fewest_in_flight_first_and_breaks_ties_by_config_order() {
    let mut cands = vec![cand(0), cand(1), cand(2), cand(3)];
    for (c, n) in cands.iter_mut().zip([3, 1, 2, 1]) {
        c.in_flight = n;
    }
    assert_eq!(run(Strategy::LeastBusy, &cands), vec![1, 3, 2, 0]);
}

#[test]
fn latency_explores_unmeasured_deployments_then_prefers_the_lowest_average() {
    let mut cands = vec![cand(0), cand(1), cand(2), cand(3), cand(4)];
    for (c, ms) in cands
        .iter_mut()
        .zip([Some(300.0), Some(120.0), None, Some(120.0), None])
    {
        c.ewma_ttfb_ms = ms;
    }
    assert_eq!(run(Strategy::Latency, &cands), vec![2, 4, 1, 3, 0]);
}

#[test]
fn cheapest_orders_by_the_estimated_cost_of_this_request() {
    // For 1,000 in / 500 out: a is cheap on input but dear on output, b the reverse.
    let price = |input, output| Price {
        input_per_mtok: input,
        output_per_mtok: output,
        cached_input_per_mtok: input,
    };
    let mut cands = vec![cand(0), cand(1), cand(2)];
    cands[0].price = price(1_000_000_000, 10_000_000_000); // 1,000,000 + 5,000,000 nano-dollars
    cands[1].price = price(3_000_000_000, 1_000_000_000); // 3,000,000 + 500,000
    cands[2].price = price(3_000_000_000, 1_000_000_000); // a tie with 1
    assert_eq!(run(Strategy::Cheapest, &cands), vec![1, 2, 0]);
    // A prompt-heavy request flips the first two.
    let long_prompt = Estimate {
        input_tokens: 100_000,
        output_tokens: 10,
    };
    let got = order(
        Strategy::Cheapest,
        &cands,
        &long_prompt,
        &mut SplitMix::seeded(1),
    );
    assert_eq!(got, vec![0, 1, 2]);
}

#[test]
fn weighted_order_spreads_first_picks_as_configured() {
    let mut cands = vec![cand(0), cand(1)];
    cands[0].weight = 1;
    cands[1].weight = 3;
    let mut rng = SplitMix::seeded(2024);
    let mut heavy_first = 0;
    for _ in 0..10_000 {
        let plan = order(Strategy::Weighted, &cands, &est(), &mut rng);
        assert_eq!(plan.len(), 2, "every deployment stays in the plan");
        heavy_first += usize::from(plan[0] == 1);
    }
    let share = heavy_first as f64 / 10_000.0;
    assert!((0.72..0.78).contains(&share), "heavy share {share}");
}

#[test]
fn weighted_order_draws_later_picks_among_the_rest_and_zero_weights_come_last() {
    let mut cands = vec![cand(0), cand(1), cand(2), cand(3)];
    for (c, w) in cands.iter_mut().zip([0, 1, 1, 2]) {
        c.weight = w;
    }
    let mut rng = SplitMix::seeded(7);
    let mut second_is_3 = 0;
    let mut first_is_3 = 0;
    for _ in 0..10_000 {
        let plan = order(Strategy::Weighted, &cands, &est(), &mut rng);
        assert_eq!(plan[3], 0, "weight 0 only when the others are exhausted");
        first_is_3 += usize::from(plan[0] == 3);
        second_is_3 += usize::from(plan[1] == 3);
    }
    // First: 2/4. Second: after 1 or 2 was first (1/4 each), 3 is picked 2/3 of the time.
    let first = first_is_3 as f64 / 10_000.0;
    let second = second_is_3 as f64 / 10_000.0;
    assert!((0.47..0.53).contains(&first), "{first}");
    assert!((0.30..0.37).contains(&second), "{second}");
}

#[test]
fn the_same_seed_gives_the_same_weighted_plan() {
    let cands: Vec<_> = (0..6).map(cand).collect();
    let a = order(Strategy::Weighted, &cands, &est(), &mut SplitMix::seeded(9));
    let b = order(Strategy::Weighted, &cands, &est(), &mut SplitMix::seeded(9));
    assert_eq!(a, b);
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![0, 1, 2, 3, 4, 5]);
}

fn tiers() -> TierConfig {
    TierConfig {
        small: "mini".into(),
        medium: "standard".into(),
        large: "max".into(),
        medium_from_tokens: 2_000,
        large_from_tokens: 20_000,
        medium_from_turns: 6,
        large_from_turns: 30,
        medium_from_system_tokens: u64::MAX,
        large_from_system_tokens: u64::MAX,
    }
}

fn features(prompt_tokens: u64, turns: u32) -> Features {
    Features {
        prompt_tokens,
        turns,
        ..Features::default()
    }
}

#[test]
fn tiers_start_at_their_thresholds() {
    let cfg = tiers();
    assert_eq!(tier(&cfg, &features(1_999, 1)), "mini");
    assert_eq!(tier(&cfg, &features(2_000, 1)), "standard");
    assert_eq!(tier(&cfg, &features(19_999, 5)), "standard");
    assert_eq!(tier(&cfg, &features(20_000, 1)), "max");
    assert_eq!(tier(&cfg, &features(10, 6)), "standard");
    assert_eq!(tier(&cfg, &features(10, 30)), "max");
}

#[test]
fn the_largest_tier_any_signal_reaches_wins() {
    let cfg = tiers();
    assert_eq!(tier_of(&cfg, &features(25_000, 2)), Tier::Large);
    assert_eq!(tier_of(&cfg, &features(100, 40)), Tier::Large);
    assert_eq!(tier_of(&cfg, &features(5_000, 40)), Tier::Large);
}

#[test]
fn by_default_a_system_prompt_does_not_change_the_tier() {
    let cfg = tiers();
    assert!(!cfg.uses_system_prompt());
    let mut f = features(100, 1);
    f.has_system_prompt = true;
    f.system_prompt_tokens = 50_000;
    assert_eq!(tier(&cfg, &f), "mini");
}

#[test]
fn configured_system_prompt_thresholds_raise_the_tier() {
    let cfg = TierConfig {
        medium_from_system_tokens: 500,
        large_from_system_tokens: 5_000,
        ..tiers()
    };
    assert!(cfg.uses_system_prompt());
    let with_system = |tokens: u64| Features {
        has_system_prompt: tokens > 0,
        system_prompt_tokens: tokens,
        ..features(100, 1)
    };
    assert_eq!(tier(&cfg, &with_system(0)), "mini");
    assert_eq!(tier(&cfg, &with_system(499)), "mini");
    assert_eq!(tier(&cfg, &with_system(500)), "standard");
    assert_eq!(tier(&cfg, &with_system(5_000)), "max");
    // Still the largest any signal reaches: a long chat beats a medium system prompt.
    let long_chat = Features {
        turns: 30,
        ..with_system(600)
    };
    assert_eq!(tier_of(&cfg, &long_chat), Tier::Large);
    // Only the medium step set: the large step stays off.
    let medium_only = TierConfig {
        large_from_system_tokens: u64::MAX,
        ..cfg
    };
    assert_eq!(tier(&medium_only, &with_system(1_000_000)), "standard");
}

#[test]
fn the_first_matching_rule_wins_and_headers_match_case_insensitively() {
    let rules = vec![
        Rule::Header {
            name: "X-Route".into(),
            equals: "batch".into(),
            alias: "cheap".into(),
        },
        Rule::Tag {
            tag: "vip".into(),
            alias: "max".into(),
        },
        Rule::Tag {
            tag: "vip".into(),
            alias: "never".into(),
        },
    ];
    let mut f = Features::default();
    assert_eq!(apply_rules(&rules, &f), None);
    f.tags = vec!["team-a".into(), "vip".into()];
    assert_eq!(apply_rules(&rules, &f), Some("max"));
    f.headers = vec![("x-route".into(), "batch".into())];
    assert_eq!(apply_rules(&rules, &f), Some("cheap"));
    f.headers = vec![("x-route".into(), "Batch".into())];
    assert_eq!(apply_rules(&rules, &f), Some("max"), "values are exact");
    f.tags = vec!["VIP".into()];
    assert_eq!(apply_rules(&rules, &f), None, "tags are case-sensitive");
}

#[test]
fn rules_read_from_config_shaped_json() {
    let rules: Vec<Rule> = serde_json::from_str(
        r#"[{"match":"tag","tag":"vip","alias":"max"},
            {"match":"header","name":"x-tier","equals":"low","alias":"mini"}]"#,
    )
    .unwrap();
    assert_eq!(rules[0].alias(), "max");
    assert_eq!(rules[1].alias(), "mini");
}

#[test]
fn savings_are_actual_minus_shadow_and_may_be_negative() {
    assert_eq!(projected_savings(Money(1_000), Money(400)), Money(600));
    assert_eq!(projected_savings(Money(400), Money(1_000)), Money(-600));
}

#[test]
fn the_shadow_book_totals_each_alias_separately() {
    let book = ShadowBook::new();
    book.observe("gpt", "mini", Money(1_000), Money(300), true);
    book.observe("gpt", "gpt", Money(500), Money(500), false);
    book.observe("gpt", "mini", Money(700), Money(100), true);
    book.observe("claude", "opus", Money(200), Money(900), true);
    let report = book.report();
    assert_eq!(report.len(), 2);
    let (claude, gpt) = (&report[0], &report[1]);
    assert_eq!(claude.alias, "claude");
    assert_eq!((gpt.requests, gpt.differed), (3, 2));
    assert_eq!(
        (gpt.actual_cost, gpt.shadow_cost),
        (Money(2_200), Money(900))
    );
    assert_eq!(gpt.savings(), Money(1_300));
    assert_eq!(
        gpt.choices
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        [("gpt", 1), ("mini", 2)]
    );
    assert_eq!(claude.choices.get("opus"), Some(&1));
    assert_eq!(claude.savings(), Money(-700));
    book.reset();
    assert!(book.report().is_empty());
}

#[test]
fn the_shadow_book_counts_every_observation_under_concurrency() {
    let book = std::sync::Arc::new(ShadowBook::new());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let book = std::sync::Arc::clone(&book);
            std::thread::spawn(move || {
                for _ in 0..1_000 {
                    book.observe("a", "x", Money(3), Money(1), true);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let fig = &book.report()[0];
    assert_eq!((fig.requests, fig.differed), (4_000, 4_000));
    assert_eq!(fig.choices.get("x"), Some(&4_000));
    assert_eq!(fig.savings(), Money(8_000));
}
