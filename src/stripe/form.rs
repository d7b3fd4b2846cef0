//! Stripe's request encoding: `application/x-www-form-urlencoded` with nested objects as
//! `parent[child]=v` and arrays as `arr[0]=a` (`arr[]=a` accepted too). The client encodes a
//! JSON-like tree into pairs; the sandbox decodes pairs back into the tree.

use serde_json::{Map, Value};

/// Flattens a tree of objects, arrays and scalars into form pairs. `null` becomes an empty
/// value (Stripe's "unset"); booleans and numbers are written as text.
pub fn encode(value: &Value) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    if let Value::Object(map) = value {
        for (k, v) in map {
            flatten(k.clone(), v, &mut pairs);
        }
    }
    pairs
}

fn flatten(key: String, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(format!("{key}[{k}]"), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(format!("{key}[{i}]"), v, out);
            }
        }
        Value::Null => out.push((key, String::new())),
        Value::String(s) => out.push((key, s.clone())),
        other => out.push((key, other.to_string())),
    }
}

/// The body of a request, percent-encoded.
pub fn to_body(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..(i + 3).min(bytes.len())])
                    .ok()
                    .filter(|h| h.len() == 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("invalid percent-encoding in `{s}`"))?;
                out.push(hex);
                i += 2;
            }
            b'%' => return Err(format!("invalid percent-encoding in `{s}`")),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("`{s}` is not UTF-8"))
}

/// Parses a form body into `(key, value)` pairs.
pub fn parse_body(body: &str) -> Result<Vec<(String, String)>, String> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

/// Rebuilds the tree from pairs. Keys are `name` or `name[a][b]…`; a segment that is a number
/// or empty (`[]`, appending) makes an array. Values stay strings.
pub fn decode(pairs: &[(String, String)]) -> Result<Value, String> {
    let mut root = Value::Object(Map::new());
    for (key, value) in pairs {
        let path = parse_key(key)?;
        insert(&mut root, &path, value.clone(), key)?;
    }
    Ok(root)
}

#[derive(Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
    Append,
}

fn parse_key(key: &str) -> Result<Vec<Segment>, String> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return Err(format!("invalid parameter name `{key}`"));
    }
    let mut path = vec![Segment::Key(head.to_string())];
    while !rest.is_empty() {
        let close = rest
            .find(']')
            .filter(|_| rest.starts_with('['))
            .ok_or_else(|| format!("invalid parameter name `{key}`: unbalanced brackets"))?;
        let inner = &rest[1..close];
        path.push(if inner.is_empty() {
            Segment::Append
        } else if let Ok(i) = inner.parse::<usize>() {
            Segment::Index(i)
        } else {
            Segment::Key(inner.to_string())
        });
        rest = &rest[close + 1..];
    }
    Ok(path)
}

fn insert(node: &mut Value, path: &[Segment], value: String, key: &str) -> Result<(), String> {
    let conflict = || format!("parameter `{key}` conflicts with another of the same name");
    let (first, rest) = path.split_first().expect("a non-empty path");
    let next_is_array = matches!(rest.first(), Some(Segment::Index(_) | Segment::Append));
    let empty = || {
        if next_is_array {
            Value::Array(Vec::new())
        } else {
            Value::Object(Map::new())
        }
    };
    let child: &mut Value = match (first, node) {
        (Segment::Key(k), Value::Object(map)) => {
            if rest.is_empty() {
                map.insert(k.clone(), Value::String(value));
                return Ok(());
            }
            map.entry(k.clone()).or_insert_with(empty)
        }
        (Segment::Index(i), Value::Array(items)) => {
            if *i > items.len() {
                return Err(format!(
                    "parameter `{key}`: array indices must start at 0 and have no gaps"
                ));
            }
            if *i == items.len() {
                items.push(if rest.is_empty() {
                    Value::String(value.clone())
                } else {
                    empty()
                });
            } else if rest.is_empty() {
                items[*i] = Value::String(value);
                return Ok(());
            }
            if rest.is_empty() {
                return Ok(());
            }
            &mut items[*i]
        }
        (Segment::Append, Value::Array(items)) => {
            if rest.is_empty() {
                items.push(Value::String(value));
                return Ok(());
            }
            items.push(empty());
            items.last_mut().expect("just pushed")
        }
        _ => return Err(conflict()),
    };
    if (next_is_array && !child.is_array()) || (!next_is_array && !child.is_object()) {
        return Err(conflict());
    }
    insert(child, rest, value, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn nested_objects_and_arrays_are_bracketed() {
        let v = json!({
            "email": "a+b@example.com",
            "metadata": {"referral_code": "AB12", "campaign": "spring"},
            "enabled_events": ["charge.succeeded", "customer.created"],
            "balance": null,
        });
        let pairs = encode(&v);
        assert!(pairs.contains(&("metadata[referral_code]".into(), "AB12".into())));
        assert!(pairs.contains(&("enabled_events[1]".into(), "customer.created".into())));
        assert!(pairs.contains(&("balance".into(), "".into())));
        let body = to_body(&pairs);
        assert!(body.contains("email=a%2Bb%40example.com"));
        assert!(body.contains("metadata%5Breferral_code%5D=AB12"));
    }

    #[test]
    fn stripe_style_bodies_decode_into_trees() {
        let pairs = parse_body("email=a%40b.co&metadata[plan]=pro&expand[]=data.customer&expand[]=x&items[0][price]=p1&items[1][price]=p2&name=Ann+Lee").unwrap();
        let v = decode(&pairs).unwrap();
        assert_eq!(
            v,
            json!({
                "email": "a@b.co",
                "metadata": {"plan": "pro"},
                "expand": ["data.customer", "x"],
                "items": [{"price": "p1"}, {"price": "p2"}],
                "name": "Ann Lee",
            })
        );
    }

    #[test]
    fn malformed_keys_are_refused_with_the_name() {
        for (body, expect) in [
            ("a[b=1", "unbalanced"),
            ("[x]=1", "invalid parameter name"),
            ("a[2]=x", "no gaps"),
            ("a=1&a[b]=2", "conflicts"),
            ("a=%zz", "percent-encoding"),
        ] {
            let err = parse_body(body).and_then(|p| decode(&p)).unwrap_err();
            assert!(err.contains(expect), "{body}: {err}");
        }
    }

    fn tree() -> impl Strategy<Value = Value> {
        let leaf = "[a-zA-Z0-9 @.+&=%_\\-\\[\\]é]{0,12}".prop_map(Value::String);
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,8}", inner, 1..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn encoding_then_decoding_gives_back_the_tree(
            fields in prop::collection::btree_map("[a-z_]{1,8}", tree(), 0..5)
        ) {
            let original = Value::Object(fields.into_iter().collect());
            let body = to_body(&encode(&original));
            let decoded = decode(&parse_body(&body).unwrap()).unwrap();
            prop_assert_eq!(decoded, original);
        }
    }
}
