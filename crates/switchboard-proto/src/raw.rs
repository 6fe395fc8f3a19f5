//! A JSON object kept as raw bytes, field by field, so a body can be forwarded with a few
//! fields changed and everything else untouched, even fields this gateway has never heard
//! of (a provider's newest parameter, Anthropic's `cache_control` on a content block).

use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::ProtoError;

/// The top-level fields of a JSON object, as slices of the body they came from.
#[derive(Debug, Clone)]
pub struct RawObject {
    body: Bytes,
    fields: Vec<(Key, Range<usize>)>,
}

/// A field's name: where it sits in the body, between its quotes, when the client wrote
/// it without escapes (nearly always, and then nothing is copied), or decoded when it had
/// some.
#[derive(Debug, Clone)]
enum Key {
    Span(Range<usize>),
    Decoded(Box<str>),
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
        let span = |s: &str| {
            let start = s.as_ptr() as usize - base;
            start..start + s.len()
        };
        let fields = pairs
            .into_iter()
            .map(|(key, raw)| {
                let key = match key {
                    KeyText::Borrowed(k) => Key::Span(span(k)),
                    KeyText::Owned(k) => Key::Decoded(k.into_boxed_str()),
                };
                (key, span(raw.get()))
            })
            .collect();
        Ok(Self { body, fields })
    }

    /// The name of a field, as the bytes of its decoded text.
    fn name<'a>(&'a self, key: &'a Key) -> &'a [u8] {
        match key {
            Key::Span(r) => &self.body[r.clone()],
            Key::Decoded(k) => k.as_bytes(),
        }
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
            .find(|(k, _)| self.name(k) == key.as_bytes())
            .map(|(_, r)| &self.body[r.clone()])
    }

    pub fn contains(&self, key: &str) -> bool {
        self.fields
            .iter()
            .any(|(k, _)| self.name(k) == key.as_bytes())
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
            let name = self.name(key);
            if remove.iter().any(|r| r.as_bytes() == name) {
                continue;
            }
            sep(&mut out);
            match key {
                // Written by the client without escapes: its bytes between the quotes are
                // valid JSON string text as they stand.
                Key::Span(_) => put_plain_key(&mut out, name),
                Key::Decoded(k) => put_key(&mut out, k),
            }
            match set.iter().find(|(k, _)| k.as_bytes() == name) {
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

/// `s` as a JSON string literal, quotes and escapes included.
pub fn json_string(s: &str) -> String {
    // Writing a `str` cannot fail; the fallback only satisfies the signature.
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

fn put_key(out: &mut BytesMut, key: &str) {
    let plain = key.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if plain {
        put_plain_key(out, key.as_bytes());
    } else {
        // serde_json's string writer escapes exactly as JSON requires; keys are short.
        out.put_slice(json_string(key).as_bytes());
        out.put_u8(b':');
    }
}

/// A key whose text needs no escaping.
fn put_plain_key(out: &mut BytesMut, key: &[u8]) {
    out.put_u8(b'"');
    out.put_slice(key);
    out.put_slice(b"\":");
}

/// A key as serde_json hands it over: borrowed from the body when it has no escapes.
enum KeyText<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl KeyText<'_> {
    fn text(&self) -> &str {
        match self {
            KeyText::Borrowed(k) => k,
            KeyText::Owned(k) => k,
        }
    }
}

impl<'de> Deserialize<'de> for KeyText<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyText<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(KeyText::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(KeyText::Owned(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(KeyText::Owned(v))
            }
        }
        d.deserialize_str(V)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Vec<(KeyText<'de>, &'de RawValue)>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some((key, value)) = map.next_entry::<KeyText<'de>, &'de RawValue>()? {
            let name = key.text();
            if fields
                .iter()
                .any(|(k, _): &(KeyText, &RawValue)| k.text() == name)
            {
                return Err(de::Error::custom(format_args!("duplicate field `{name}`")));
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
    fn a_key_is_found_and_replaced_by_its_decoded_name_however_it_was_written() {
        let obj = RawObject::parse(Bytes::from_static(br#"{"mo\u0064el":"a","b\n":2}"#)).unwrap();
        assert_eq!(obj.get("model"), Some(&br#""a""#[..]));
        assert!(obj.contains("b\n"));
        let out = obj.write(&[("model", br#""z""#)], &["b\n"]);
        assert_eq!(&out[..], br#"{"model":"z"}"#);
    }

    #[test]
    fn non_objects_and_duplicates_are_refused() {
        // The same name, once escaped: still a duplicate.
        assert!(RawObject::parse(Bytes::from_static(br#"{"\u0061":1,"a":2}"#)).is_err());
        assert!(RawObject::parse(Bytes::from_static(b"[1]")).is_err());
        assert!(RawObject::parse(Bytes::from_static(br#"{"a":1,"a":2}"#)).is_err());
        assert!(RawObject::parse(Bytes::from_static(br#"{"a":1} tail"#)).is_err());
    }
}
