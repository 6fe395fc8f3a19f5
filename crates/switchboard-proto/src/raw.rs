//! A JSON object kept as raw bytes, field by field, so a body can be forwarded with a few
//! fields changed and everything else untouched, even fields this gateway has never heard
//! of (a provider's newest parameter, Anthropic's `cache_control` on a content block).

use bytes::{BufMut, Bytes, BytesMut};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::ProtoError;

/// The top-level fields of a JSON object, as slices of the body they came from.
#[derive(Debug, Clone)]
pub struct RawObject {
    body: Bytes,
    fields: Vec<(String, std::ops::Range<usize>)>,
}

impl RawObject {
    /// Splits `body` into its top-level fields without parsing their values beyond
    /// checking that they are well-formed JSON.
    pub fn parse(body: Bytes) -> Result<Self, ProtoError> {
        let mut de = serde_json::Deserializer::from_slice(&body);
        let pairs = de
            .deserialize_map(FieldsVisitor)
            .map_err(|e| ProtoError::MalformedJson(e.to_string()))?;
        de.end()
            .map_err(|e| ProtoError::MalformedJson(e.to_string()))?;
        let base = body.as_ptr() as usize;
        let fields = pairs
            .into_iter()
            .map(|(key, raw)| {
                let start = raw.get().as_ptr() as usize - base;
                (key, start..start + raw.get().len())
            })
            .collect();
        Ok(Self { body, fields })
    }

    /// The whole body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Length of the whole body in bytes.
    pub fn body_len(&self) -> usize {
        self.body.len()
    }

    /// The raw JSON text of a field.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, r)| &self.body[r.clone()])
    }

    pub fn contains(&self, key: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == key)
    }

    /// Writes the object back with `set` fields replaced (or appended when absent) and
    /// `remove` fields dropped; every other field is copied byte for byte.
    pub fn write(&self, set: &[(&str, &[u8])], remove: &[&str]) -> Bytes {
        let mut out = BytesMut::with_capacity(self.body.len() + 64);
        out.put_u8(b'{');
        let mut first = true;
        let mut sep = |out: &mut BytesMut| {
            if !first {
                out.put_u8(b',');
            }
            first = false;
        };
        for (key, range) in &self.fields {
            if remove.contains(&key.as_str()) {
                continue;
            }
            sep(&mut out);
            put_key(&mut out, key);
            match set.iter().find(|(k, _)| k == key) {
                Some((_, value)) => out.put_slice(value),
                None => out.put_slice(&self.body[range.clone()]),
            }
        }
        for (key, value) in set {
            if !self.contains(key) {
                sep(&mut out);
                put_key(&mut out, key);
                out.put_slice(value);
            }
        }
        out.put_u8(b'}');
        out.freeze()
    }
}

fn put_key(out: &mut BytesMut, key: &str) {
    // serde_json's string writer escapes exactly as JSON requires; keys are short.
    let quoted = serde_json::to_string(key).unwrap_or_else(|_| String::from("\"\""));
    out.put_slice(quoted.as_bytes());
    out.put_u8(b':');
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Vec<(String, &'de RawValue)>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
            if fields.iter().any(|(k, _): &(String, &RawValue)| *k == key) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            fields.push((key, value));
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn unknown_fields_survive_a_rewrite_byte_for_byte() {
        let body = Bytes::from_static(br#"{"model":"alias","x_new":{"a" : [1, 2]},"stream":true}"#);
        let obj = RawObject::parse(body).unwrap();
        let out = obj.write(&[("model", br#""gpt-4o""#)], &[]);
        assert_eq!(
            &out[..],
            br#"{"model":"gpt-4o","x_new":{"a" : [1, 2]},"stream":true}"#
        );
    }

    #[test]
    fn absent_fields_are_appended_and_removed_ones_dropped() {
        let obj = RawObject::parse(Bytes::from_static(br#"{"a":1,"b":2}"#)).unwrap();
        let out = obj.write(&[("c", b"3")], &["a"]);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v, json!({"b":2,"c":3}));
    }

    #[test]
    fn keys_with_escapes_are_written_back_escaped() {
        let obj = RawObject::parse(Bytes::from_static(br#"{"a\"b":1}"#)).unwrap();
        let v: Value = serde_json::from_slice(&obj.write(&[], &[])).unwrap();
        assert_eq!(v, json!({"a\"b":1}));
    }

    #[test]
    fn non_objects_and_duplicates_are_refused() {
        assert!(RawObject::parse(Bytes::from_static(b"[1]")).is_err());
        assert!(RawObject::parse(Bytes::from_static(br#"{"a":1,"a":2}"#)).is_err());
        assert!(RawObject::parse(Bytes::from_static(br#"{"a":1} tail"#)).is_err());
    }
}
