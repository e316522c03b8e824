//! The hash chain of each aggregate's events (tamper evidence). Every
//! event's metadata carries `hash`: SHA-256, hex, of the canonical JSON
//! (object keys sorted, no spaces) of
//! `{aggregate_type, aggregate_id, sequence, event_type, event_version,
//! payload, metadata (without hash), previous}`, where `previous` is the
//! hash of the aggregate's event before it (`""` for its first). Changing,
//! inserting or removing an event inside an aggregate's history breaks the
//! chain from there; see `crate::tamper` for checking it, and for the
//! signed checkpoints that also catch a removed tail.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The metadata field holding the hash.
pub const HASH: &str = "hash";

/// One event's fields as the chain covers them.
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    /// Its aggregate's type.
    pub aggregate_type: &'a str,
    /// Its aggregate.
    pub aggregate_id: &'a str,
    /// Its sequence.
    pub sequence: i64,
    /// Its type.
    pub event_type: &'a str,
    /// Its payload's schema version.
    pub event_version: &'a str,
    /// The payload.
    pub payload: &'a Value,
    /// The metadata (a `hash` in it is left out).
    pub metadata: &'a Value,
}

/// `value` as canonical JSON: keys sorted at every level, no whitespace.
pub fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// What of `link` a hash or seal covers: everything identifying it, and
/// its metadata less the `left_out` field (the hash or seal itself).
pub fn covered(link: Link<'_>, left_out: &str) -> Value {
    let mut metadata = link.metadata.clone();
    if let Value::Object(map) = &mut metadata {
        map.remove(left_out);
    }
    json!({
        "aggregate_type": link.aggregate_type,
        "aggregate_id": link.aggregate_id,
        "sequence": link.sequence,
        "event_type": link.event_type,
        "event_version": link.event_version,
        "payload": link.payload,
        "metadata": metadata,
    })
}

/// The hash of `link` after `previous`.
pub fn hash(link: Link<'_>, previous: &str) -> String {
    let mut covered = covered(link, HASH);
    covered["previous"] = json!(previous);
    domain::signatures::hex(&Sha256::digest(canonical(&covered).as_bytes()))
}

/// The hash recorded in `metadata`, if any.
pub fn recorded(metadata: &Value) -> Option<&str> {
    metadata.get(HASH).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link<'a>(payload: &'a Value, metadata: &'a Value) -> Link<'a> {
        Link {
            aggregate_type: "Policy",
            aggregate_id: "p-1",
            sequence: 2,
            event_type: "PolicyActivated",
            event_version: "1.0",
            payload,
            metadata,
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = json!({"b": 1, "a": {"d": [true, null], "c": "x\"y"}});
        assert_eq!(
            canonical(&value),
            r#"{"a":{"c":"x\"y","d":[true,null]},"b":1}"#
        );
    }

    #[test]
    fn the_hash_covers_every_field_and_the_previous_hash_but_not_itself() {
        let payload = json!({"term_number": 1});
        let metadata = json!({"user_id": "u-1", "correlation_id": "c-1"});
        let base = hash(link(&payload, &metadata), "abc");
        assert_eq!(base.len(), 64);
        let mut with_hash = metadata.clone();
        with_hash[HASH] = json!(base);
        assert_eq!(hash(link(&payload, &with_hash), "abc"), base);
        assert_ne!(hash(link(&payload, &metadata), "abd"), base);
        let changed = json!({"term_number": 2});
        assert_ne!(hash(link(&changed, &metadata), "abc"), base);
        let other_user = json!({"user_id": "u-2", "correlation_id": "c-1"});
        assert_ne!(hash(link(&payload, &other_user), "abc"), base);
        let mut later = link(&payload, &metadata);
        later.sequence = 3;
        assert_ne!(hash(later, "abc"), base);
        // Key order does not matter: the JSON is canonical.
        let reordered: Value =
            serde_json::from_str(r#"{"correlation_id": "c-1", "user_id": "u-1"}"#).unwrap();
        assert_eq!(hash(link(&payload, &reordered), "abc"), base);
    }
}
