//! The packet frame: every gossip datagram is signed with the cluster secret.
//!
//! ```text
//! [1 byte version][32 bytes HMAC-SHA256(secret, version || payload)][payload]
//! ```
//!
//! Membership is the source of truth for who owns which quota, so a forged "node X is
//! down" must not be able to move ownership: a packet whose tag does not verify never
//! reaches foca. The version byte is covered by the tag too, so a packet cannot be
//! replayed as a different frame version. The comparison is constant-time
//! (`Mac::verify_slice`). Replay of a genuine packet is not prevented here; SWIM
//! tolerates stale messages (incarnations order them).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The frame version this node writes and the only one it reads.
pub const FRAME_VERSION: u8 = 1;

/// Length of the HMAC-SHA256 tag.
pub const TAG_LEN: usize = 32;

/// Bytes a frame adds around its payload.
pub const OVERHEAD: usize = 1 + TAG_LEN;

type HmacSha256 = Hmac<Sha256>;

/// Why a packet was dropped before foca saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The packet is shorter than a frame header: truncated, or not ours at all.
    #[error("packet too short for a frame ({len} bytes)")]
    Truncated { len: usize },
    /// A frame version this node does not speak.
    #[error("unknown frame version {0}")]
    UnknownVersion(u8),
    /// The tag does not match: another cluster's secret, tampering, or garbage.
    #[error("bad signature")]
    BadSignature,
}

/// Frames `payload`, signed with `secret`.
pub fn seal(secret: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut packet = Vec::with_capacity(OVERHEAD + payload.len());
    packet.push(FRAME_VERSION);
    packet.extend_from_slice(&tag(secret, FRAME_VERSION, payload));
    packet.extend_from_slice(payload);
    packet
}

/// The payload of a frame signed with `secret`, or why the packet must be dropped.
pub fn open<'p>(secret: &[u8], packet: &'p [u8]) -> Result<&'p [u8], FrameError> {
    if packet.len() < OVERHEAD {
        return Err(FrameError::Truncated { len: packet.len() });
    }
    let (version, rest) = (packet[0], &packet[1..]);
    if version != FRAME_VERSION {
        return Err(FrameError::UnknownVersion(version));
    }
    let (tag, payload) = rest.split_at(TAG_LEN);
    let mut mac = keyed(secret);
    mac.update(&[version]);
    mac.update(payload);
    mac.verify_slice(tag)
        .map_err(|_| FrameError::BadSignature)?;
    Ok(payload)
}

fn tag(secret: &[u8], version: u8, payload: &[u8]) -> [u8; TAG_LEN] {
    let mut mac = keyed(secret);
    mac.update(&[version]);
    mac.update(payload);
    mac.finalize().into_bytes().into()
}

fn keyed(secret: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length (long ones are hashed first), so this cannot fail;
    // the fallback only exists to keep `expect` out of library code.
    HmacSha256::new_from_slice(secret)
        .unwrap_or_else(|_| <HmacSha256 as Mac>::new(&Default::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"cluster secret";

    #[test]
    fn a_sealed_packet_opens_to_its_payload() {
        let packet = seal(SECRET, b"hello");
        assert_eq!(packet.len(), OVERHEAD + 5);
        assert_eq!(open(SECRET, &packet), Ok(&b"hello"[..]));
    }

    #[test]
    fn an_empty_payload_round_trips() {
        assert_eq!(open(SECRET, &seal(SECRET, b"")), Ok(&b""[..]));
    }

    #[test]
    fn another_clusters_secret_is_a_bad_signature() {
        let packet = seal(b"other secret", b"hello");
        assert_eq!(open(SECRET, &packet), Err(FrameError::BadSignature));
    }

    #[test]
    fn any_flipped_payload_bit_is_a_bad_signature() {
        let packet = seal(SECRET, b"hello");
        for i in OVERHEAD..packet.len() {
            let mut tampered = packet.clone();
            tampered[i] ^= 0x01;
            assert_eq!(open(SECRET, &tampered), Err(FrameError::BadSignature));
        }
    }

    #[test]
    fn a_truncated_packet_is_refused_before_verification() {
        let packet = seal(SECRET, b"hello");
        assert_eq!(
            open(SECRET, &packet[..OVERHEAD - 1]),
            Err(FrameError::Truncated { len: OVERHEAD - 1 })
        );
        assert_eq!(open(SECRET, &[]), Err(FrameError::Truncated { len: 0 }));
    }

    #[test]
    fn an_unsigned_payload_is_refused() {
        let raw = vec![0x93u8; 64];
        assert!(open(SECRET, &raw).is_err());
    }

    #[test]
    fn another_version_is_refused_even_with_a_valid_tag_for_it() {
        let mut packet = seal(SECRET, b"hello");
        packet[0] = 2;
        let retagged = tag(SECRET, 2, b"hello");
        packet[1..OVERHEAD].copy_from_slice(&retagged);
        assert_eq!(open(SECRET, &packet), Err(FrameError::UnknownVersion(2)));
    }

    #[test]
    fn changing_the_version_byte_breaks_the_tag() {
        // Were version 2 ever accepted, a version-1 packet relabelled as 2 must not verify.
        let packet = seal(SECRET, b"hello");
        let mut mac = keyed(SECRET);
        mac.update(&[2]);
        mac.update(b"hello");
        assert!(mac.verify_slice(&packet[1..OVERHEAD]).is_err());
    }
}
