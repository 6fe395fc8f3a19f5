//! Feature tags: free-form labels a caller attaches for cost attribution.
//!
//! Read from the `x-switchboard-tags` header (comma-separated) and, on OpenAI chat calls,
//! from the body's `metadata` object (`key:value` for each string value) and `user`
//! field (`user:<id>`). Bounded in number and length, so a caller cannot blow up an
//! audit record or the spend report's groups.

use http::HeaderMap;

/// Tags kept per request.
pub const MAX_TAGS: usize = 16;
/// Longest tag kept, in bytes.
pub const MAX_TAG_LEN: usize = 64;

fn clean(tag: &str) -> Option<String> {
    let tag = tag.trim();
    (!tag.is_empty() && tag.len() <= MAX_TAG_LEN && tag.chars().all(|c| !c.is_control()))
        .then(|| tag.to_owned())
}

/// Tags from the request headers.
pub fn from_headers(headers: &HeaderMap) -> Vec<String> {
    let mut out = Vec::new();
    for v in headers.get_all("x-switchboard-tags") {
        if let Ok(v) = v.to_str() {
            out.extend(v.split(',').filter_map(clean));
        }
    }
    out
}

/// Adds the OpenAI `metadata` and `user` fields of a chat body as tags.
pub fn add_from_body(
    tags: &mut Vec<String>,
    metadata: Option<&serde_json::Value>,
    user: Option<&str>,
) {
    if let Some(serde_json::Value::Object(map)) = metadata {
        for (k, v) in map {
            if let Some(v) = v.as_str()
                && let Some(tag) = clean(&format!("{k}:{v}"))
            {
                tags.push(tag);
            }
        }
    }
    if let Some(tag) = user.and_then(|u| clean(&format!("user:{u}"))) {
        tags.push(tag);
    }
}

/// Sorts, dedups and caps the list.
pub fn finish(mut tags: Vec<String>) -> Vec<String> {
    tags.sort();
    tags.dedup();
    tags.truncate(MAX_TAGS);
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_come_from_header_metadata_and_user() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-switchboard-tags",
            "support-bot, checkout ,,".parse().unwrap(),
        );
        let mut tags = from_headers(&h);
        add_from_body(
            &mut tags,
            Some(&serde_json::json!({"feature": "summary", "n": 3})),
            Some("u42"),
        );
        assert_eq!(
            finish(tags),
            vec!["checkout", "feature:summary", "support-bot", "user:u42"]
        );
    }

    #[test]
    fn oversized_and_excess_tags_are_dropped() {
        let mut h = HeaderMap::new();
        let many: Vec<String> = (0..40).map(|i| format!("t{i:02}")).collect();
        h.insert(
            "x-switchboard-tags",
            format!("{},{}", "x".repeat(200), many.join(","))
                .parse()
                .unwrap(),
        );
        let tags = finish(from_headers(&h));
        assert_eq!(tags.len(), MAX_TAGS);
        assert!(tags.iter().all(|t| t.len() <= MAX_TAG_LEN));
    }
}
