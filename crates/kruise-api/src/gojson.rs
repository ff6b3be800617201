//! Go's `encoding/json` output for a JSON value, byte for byte, as upstream hashes it:
//! object keys sorted (Go sorts map keys), HTML-safe string escaping (`<`, `>`, `&`,
//! U+2028, U+2029 and control characters as `\u00XX`), no whitespace. The one writer behind
//! revision hashes (CS-26, CS-27, ASTS-21, ADS-8) and SidecarSet hashes (SCS-6).

use serde_json::Value;

/// `v` as Go's `json.Marshal` writes it.
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

/// Appends `v` as Go writes it (object keys sorted). Recursion depth is `v`'s nesting depth.
pub fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, x);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                if let Some(x) = m.get(k) {
                    write_value(out, x);
                }
            }
            out.push('}');
        }
    }
}

/// Appends `s` as a Go JSON string (HTML-safe escaping).
pub fn write_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\u{0}'..='\u{1f}' => {
                let n = c as u32;
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(char::from(HEX[((n >> shift) & 0xf) as usize]));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn cs_26_go_json_sorts_keys_and_escapes_html() {
        let v = json!({"b": [1, true, null], "a": "<x>&\u{2028}\u{1}é\"\\\n"});
        assert_eq!(to_string(&v), r#"{"a":"\u003cx\u003e\u0026\u2028\u0001é\"\\\n","b":[1,true,null]}"#);
    }

    proptest! {
        /// Go's output is valid JSON that reads back as the same value.
        #[test]
        fn go_json_round_trips(s in "\\PC{0,16}", k in "\\PC{0,6}", n in any::<i64>()) {
            let v = json!({k.clone(): [s.clone(), n], "z": {"y": s}});
            let back: Value = serde_json::from_str(&to_string(&v)).unwrap();
            prop_assert_eq!(back, v);
        }
    }
}
