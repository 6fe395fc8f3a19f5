//! Packets that are not signed with the cluster secret change nothing.

use bytes::BufMut;
use foca::{Codec, Header, Member, Message};

use super::*;
use crate::codec::RmpCodec;
use crate::frame::{self, FRAME_VERSION};

/// A well-formed foca gossip message, as node `from` would send it to node `to`,
/// claiming that node `victim` is down.
fn victim_is_down(sim: &Sim, from: usize, to: usize, victim: usize) -> Vec<u8> {
    let mut codec = RmpCodec::new();
    let mut payload = Vec::new();
    let header = Header {
        src: sim.node(from).identity().clone(),
        src_incarnation: 0,
        dst: sim.node(to).identity().clone(),
        message: Message::Gossip,
    };
    codec.encode_header(&header, &mut payload).unwrap();
    payload.put_u16(1);
    let down = Member::down(sim.node(victim).identity().clone());
    codec.encode_member(&down, &mut payload).unwrap();
    payload
}

#[test]
fn a_down_claim_signed_with_another_secret_is_dropped_counted_and_ignored() {
    let mut sim = converged(3, 21);
    let forged = frame::seal(b"not the cluster secret", &victim_is_down(&sim, 1, 0, 2));
    for _ in 0..10 {
        sim.inject(0, &forged);
    }
    assert_eq!(sim.counters(0).dropped_bad_signature, 10);
    assert!(sim.sees(0, &[0, 1, 2]));
    sim.run_for(5_000);
    assert!((0..3).all(|i| sim.sees(i, &[0, 1, 2])));
    assert_eq!(member_downs(&sim, 0), 0);
}

#[test]
fn the_same_claim_properly_signed_would_be_believed() {
    // The control for the test above: the forged payload is a real attack, and only the
    // signature stops it.
    let mut sim = converged(3, 21);
    let victim = sim.node(2).identity().clone();
    let genuine = frame::seal(SIM_SECRET, &victim_is_down(&sim, 1, 0, 2));
    sim.inject(0, &genuine);
    assert!(!sim.node(0).members().contains(&victim));
    assert_eq!(sim.counters(0).dropped(), 0);
}

#[test]
fn an_unsigned_foca_message_is_dropped() {
    let mut sim = converged(3, 22);
    let raw = victim_is_down(&sim, 1, 0, 2);
    sim.inject(0, &raw);
    let c = sim.counters(0);
    assert_eq!(c.dropped_bad_signature + c.dropped_malformed, 1);
    assert!(sim.sees(0, &[0, 1, 2]));
}

#[test]
fn garbage_truncated_and_unknown_version_packets_are_dropped_as_malformed_or_unsigned() {
    let mut sim = converged(3, 23);
    let genuine = frame::seal(SIM_SECRET, &victim_is_down(&sim, 1, 0, 2));
    let mut wrong_version = genuine.clone();
    wrong_version[0] = FRAME_VERSION + 1;
    sim.inject(0, &[]);
    sim.inject(0, &genuine[..20]);
    sim.inject(0, &wrong_version);
    assert_eq!(sim.counters(0).dropped_malformed, 3);

    let mut garbage = vec![FRAME_VERSION];
    garbage.extend((0..200u32).map(|i| (i * 37 % 251) as u8));
    sim.inject(0, &garbage);
    let mut flipped = genuine.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x80;
    sim.inject(0, &flipped);
    assert_eq!(sim.counters(0).dropped_bad_signature, 2);

    sim.run_for(3_000);
    assert!((0..3).all(|i| sim.sees(i, &[0, 1, 2])));
}

#[test]
fn signed_garbage_from_a_key_holder_is_dropped_as_malformed() {
    let mut sim = converged(3, 24);
    sim.inject(0, &frame::seal(SIM_SECRET, b"\xc1\xc1\xc1 not msgpack"));
    assert_eq!(sim.counters(0).dropped_malformed, 1);
    assert!(sim.sees(0, &[0, 1, 2]));
}
