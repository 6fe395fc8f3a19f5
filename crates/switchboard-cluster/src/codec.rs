//! [`RmpCodec`]: foca's headers and member updates as MessagePack (rmp-serde).
//!
//! The project encodes every cluster message with rmp-serde, so gossip does too: one
//! format to inspect and evolve. Structs are written as arrays (field order, no names):
//! a packet is 1400 bytes, and a header carries two identities.
//!
//! The frame around the encoded bytes (version, HMAC) is [`crate::frame`]'s business;
//! this module only turns values into bytes and back.

use bytes::{Buf, BufMut};
use foca::{Codec, Header, Member};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ClusterError;
use crate::identity::NodeId;

/// foca's [`Codec`] over MessagePack. Keeps one scratch buffer to avoid an allocation
/// per encoded item.
#[derive(Debug, Default)]
pub struct RmpCodec {
    scratch: Vec<u8>,
}

impl RmpCodec {
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes `value` into `buf`, or leaves `buf` untouched if it does not fit (foca
    /// relies on that to stop adding updates to a full packet).
    fn put<T: Serialize>(&mut self, value: &T, mut buf: impl BufMut) -> Result<(), ClusterError> {
        self.scratch.clear();
        rmp_serde::encode::write(&mut self.scratch, value)?;
        if buf.remaining_mut() < self.scratch.len() {
            return Err(ClusterError::BufferFull);
        }
        buf.put_slice(&self.scratch);
        Ok(())
    }
}

/// Decodes one value from the front of `buf` and advances past exactly its bytes.
fn take<T: DeserializeOwned>(mut buf: impl Buf) -> Result<T, ClusterError> {
    let mut rest = buf.chunk();
    let before = rest.len();
    let value = rmp_serde::from_read(&mut rest)?;
    let used = before - rest.len();
    buf.advance(used);
    Ok(value)
}

/// Encodes a value the way gossip does (facts use it).
pub fn to_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, ClusterError> {
    Ok(rmp_serde::to_vec(value)?)
}

/// Decodes a whole buffer holding one value; trailing bytes are an error.
pub fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ClusterError> {
    let mut rest = bytes;
    let value = take(&mut rest)?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(ClusterError::Decode(rmp_serde::decode::Error::Syntax(
            format!("{} trailing bytes", rest.len()),
        )))
    }
}

impl Codec<NodeId> for RmpCodec {
    type Error = ClusterError;

    fn encode_header(
        &mut self,
        header: &Header<NodeId>,
        buf: impl BufMut,
    ) -> Result<(), Self::Error> {
        self.put(header, buf)
    }

    fn decode_header(&mut self, buf: impl Buf) -> Result<Header<NodeId>, Self::Error> {
        take(buf)
    }

    fn encode_member(
        &mut self,
        member: &Member<NodeId>,
        buf: impl BufMut,
    ) -> Result<(), Self::Error> {
        self.put(member, buf)
    }

    fn decode_member(&mut self, buf: impl Buf) -> Result<Member<NodeId>, Self::Error> {
        take(buf)
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use foca::{Message, State};

    use super::*;

    fn id(name: &str, port: u16) -> NodeId {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        NodeId {
            name: name.to_owned(),
            gossip: addr,
            rpc: SocketAddr::from(([127, 0, 0, 1], port + 1)),
            admin: SocketAddr::from(([127, 0, 0, 1], port + 2)),
            incarnation: 1_750_000_000_000,
            size: 3,
        }
    }

    #[test]
    fn a_header_and_its_updates_round_trip_back_to_back() {
        let mut codec = RmpCodec::new();
        let header = Header {
            src: id("a", 7000),
            src_incarnation: 3,
            dst: id("b", 8000),
            message: Message::Ping(7),
        };
        let member = Member::new(id("c", 9000), 1, State::Suspect);
        let mut buf = Vec::new();
        codec.encode_header(&header, &mut buf).unwrap();
        codec.encode_member(&member, &mut buf).unwrap();
        buf.extend_from_slice(b"tail");

        let mut cursor = &buf[..];
        assert_eq!(codec.decode_header(&mut cursor).unwrap(), header);
        assert_eq!(codec.decode_member(&mut cursor).unwrap(), member);
        assert_eq!(
            cursor, b"tail",
            "each decode consumes exactly its own bytes"
        );
    }

    #[test]
    fn an_item_that_does_not_fit_leaves_the_buffer_clean() {
        let mut codec = RmpCodec::new();
        let member = Member::alive(id("a-long-node-name", 7000));
        let mut buf = Vec::new().limit(10);
        assert!(matches!(
            codec.encode_member(&member, &mut buf),
            Err(ClusterError::BufferFull)
        ));
        assert!(buf.get_ref().is_empty());
    }

    /// An identity from a node that does not send its cluster size (five fields, not
    /// six) still decodes, with size 0: "not said", which changes no one's count.
    #[test]
    fn an_identity_without_a_size_decodes_with_size_zero() {
        let full = id("a", 7000);
        let old = (
            &full.name,
            full.gossip,
            full.rpc,
            full.admin,
            full.incarnation,
        );
        let decoded: NodeId = from_bytes(&to_bytes(&old).unwrap()).unwrap();
        assert_eq!(decoded, NodeId { size: 0, ..full });
    }

    #[test]
    fn garbage_is_a_decode_error() {
        let mut codec = RmpCodec::new();
        let mut cursor = &[0xc1u8, 0xff, 0x00][..];
        assert!(matches!(
            codec.decode_header(&mut cursor),
            Err(ClusterError::Decode(_))
        ));
    }

    #[test]
    fn from_bytes_refuses_trailing_bytes() {
        let mut bytes = to_bytes(&42u64).unwrap();
        assert_eq!(from_bytes::<u64>(&bytes).unwrap(), 42);
        bytes.push(0);
        assert!(from_bytes::<u64>(&bytes).is_err());
    }
}
