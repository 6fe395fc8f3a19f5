//! Rendezvous (highest random weight) placement: which node owns a key, which backs it up.
//!
//! Every node computes the owner of a quota (or the prober of a deployment) on its own,
//! from the live members foca reports, so the answer must be the same in every process:
//! the hash is FNV-1a 64 over the key and the node name, finished with splitmix64's
//! mixer (FNV alone leaves its high bits poorly mixed for short, similar inputs), with no
//! per-process seed (no `RandomState`) and no platform-dependent width.
//!
//! Rendezvous hashing moves only what it must: removing a node re-homes exactly the keys
//! it owned, each to its former backup (the second-ranked node), which is why the backup
//! already holds the state.

use crate::identity::NodeId;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The weight of `node` for `key`: stable across processes, platforms and releases.
pub fn score(key: &str, node: &str) -> u64 {
    let mut hash = FNV_OFFSET;
    let mut eat = |byte: u8| {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    };
    key.bytes().for_each(&mut eat);
    // 0xff never occurs in UTF-8, so ("ab", "c") and ("a", "bc") hash apart.
    eat(0xff);
    node.bytes().for_each(&mut eat);
    mix(hash)
}

/// splitmix64's finalizer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `members` in order of preference for `key`: highest score first, ties (astronomically
/// rare) broken by name so every node still agrees.
pub fn rank<'a>(key: &str, members: &'a [NodeId]) -> Vec<&'a NodeId> {
    let mut ranked: Vec<(u64, &NodeId)> =
        members.iter().map(|m| (score(key, &m.name), m)).collect();
    ranked.sort_by(|(sa, a), (sb, b)| sb.cmp(sa).then_with(|| b.name.cmp(&a.name)));
    ranked.into_iter().map(|(_, m)| m).collect()
}

/// The owner of `key` and its backup among `members`; `None` when there are no members,
/// no backup when there is only one.
pub fn owner_and_backup<'a>(
    key: &str,
    members: &'a [NodeId],
) -> Option<(&'a NodeId, Option<&'a NodeId>)> {
    let mut best: Option<(u64, &NodeId)> = None;
    let mut second: Option<(u64, &NodeId)> = None;
    let beats = |(s, m): (u64, &NodeId), (t, n): (u64, &NodeId)| (s, &m.name) > (t, &n.name);
    for member in members {
        let candidate = (score(key, &member.name), member);
        match best {
            Some(b) if !beats(candidate, b) => {
                if second.is_none_or(|s| beats(candidate, s)) {
                    second = Some(candidate);
                }
            }
            _ => {
                second = best;
                best = Some(candidate);
            }
        }
    }
    best.map(|(_, owner)| (owner, second.map(|(_, backup)| backup)))
}

#[cfg(test)]
mod tests;
