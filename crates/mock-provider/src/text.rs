//! Extracting prompt text from any provider's message content.
//!
//! Providers disagree on shapes: OpenAI `content` is a string or an array of
//! `{type:"text",text}` parts; Anthropic `system`/`content` are a string or an
//! array of blocks, with text nested inside `tool_result.content`; Gemini has
//! `parts:[{text}]`. [`Text`] deserialises any of these in one pass, straight
//! from the request bytes, without building a `serde_json::Value`: strings are
//! appended, arrays are walked, and in objects only `text` and `content` are
//! descended into (`parts` too, for Gemini; every other key is skipped by serde without allocating).
//! Non-empty pieces are joined with `'\n'`.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// All text found in one content value.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Text {
    /// Non-empty text pieces joined with `'\n'`.
    pub text: String,
    /// The value contained an Anthropic `tool_result` block or a Gemini
    /// `functionResponse` part: it answers a tool call rather than being a
    /// fresh user turn.
    pub tool_result: bool,
}

impl Text {
    /// Appends a piece, `'\n'`-separated, skipping empty pieces.
    pub(crate) fn push(&mut self, piece: &str) {
        if piece.is_empty() {
            return;
        }
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(piece);
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = Text::default();
        d.deserialize_any(Collect(&mut out))?;
        Ok(out)
    }
}

/// Keys of a content object that matter.
#[derive(Deserialize)]
#[serde(field_identifier)]
enum Key {
    #[serde(rename = "text")]
    Text,
    #[serde(rename = "content")]
    Content,
    #[serde(rename = "parts")]
    Parts,
    #[serde(rename = "type")]
    Type,
    #[serde(rename = "functionResponse", alias = "function_response")]
    FunctionResponse,
    #[serde(other)]
    Other,
}

/// The `type` of a content block; only `tool_result` matters.
#[derive(Deserialize)]
enum BlockType {
    #[serde(rename = "tool_result")]
    ToolResult,
    #[serde(other)]
    Other,
}

/// Visitor/seed appending everything it sees to one [`Text`].
struct Collect<'a>(&'a mut Text);

impl<'de> DeserializeSeed<'de> for Collect<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Collect<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("message content (string, array of parts, or object)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.push(v);
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Collect(&mut *self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Text | Key::Content | Key::Parts => {
                    map.next_value_seed(Collect(&mut *self.0))?
                }
                Key::Type => {
                    if let BlockType::ToolResult = map.next_value::<BlockType>()? {
                        self.0.tool_result = true;
                    }
                }
                Key::FunctionResponse => {
                    self.0.tool_result = true;
                    map.next_value::<IgnoredAny>()?;
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(json: &str) -> Text {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn all_shapes() {
        assert_eq!(text(r#""hi there""#).text, "hi there");
        assert_eq!(text("null").text, "");
        let parts = r#"[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"b"}]"#;
        assert_eq!(text(parts).text, "a\nb");
        let blocks = r#"[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r"}]},{"type":"tool_use","id":"x","name":"n","input":{"text":"no"}}]"#;
        let t = text(blocks);
        assert_eq!(t.text, "r");
        assert!(t.tool_result);
        let gemini = r#"[{"text":"g"},{"functionResponse":{"name":"f","response":{}}}]"#;
        let t = text(gemini);
        assert_eq!(t.text, "g");
        assert!(t.tool_result);
    }
}
