//! What of a response body may go into an error: decode reasons that name the field but not
//! long values, and bodies with tokens, secrets and grant codes scrubbed and truncated.

/// Why `body` does not decode as `T`, naming the field (`users[1].confirm: invalid type: …`).
/// Long quoted values in the message are redacted: they could be tokens.
pub(crate) fn decode_reason<T: serde::de::DeserializeOwned>(body: &[u8], fallback: &serde_json::Error) -> String {
    let mut de = serde_json::Deserializer::from_slice(body);
    let reason = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => format!("at `{}`: {}", e.path(), e.inner()),
        Ok(_) => fallback.to_string(),
    };
    let mut out = String::with_capacity(reason.len());
    for (i, part) in reason.split('"').enumerate() {
        if i > 0 {
            out.push('"');
        }
        // Odd parts are inside quotes.
        out.push_str(if i % 2 == 1 && part.len() > 16 { crate::secret::REDACTED } else { part });
    }
    out
}

/// Keys whose values are secrets in any Zoho body. `code` is not among them: CRM uses it for
/// error codes (`INVALID_DATA`); it is redacted only where it is an OAuth grant code
/// ([`is_grant_context`], [`looks_like_zoho_secret`]).
const SECRET_KEYS: &[&str] = &["access_token", "refresh_token", "id_token", "client_secret", "token"];

/// Keys whose presence beside `code` makes it an OAuth grant code (a token request, a redirect).
const GRANT_CONTEXT_KEYS: &[&str] = &["grant_type", "redirect_uri", "client_id", "accounts-server", "location"];

/// Whether `map` is an OAuth request or redirect, whose `code` is a grant code.
fn is_grant_context(map: &serde_json::Map<String, serde_json::Value>) -> bool {
    GRANT_CONTEXT_KEYS.iter().any(|k| map.contains_key(*k))
}

/// Whether `value` has the shape of a Zoho grant code or token: `1000.<hex>.<hex>`.
pub(crate) fn looks_like_zoho_secret(value: &str) -> bool {
    let mut parts = value.split('.');
    let is_hex = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_hexdigit());
    matches!((parts.next(), parts.next(), parts.next(), parts.next()), (Some("1000"), Some(a), Some(b), None) if is_hex(a) && is_hex(b))
}

/// Truncates a body for diagnostics and removes secret values from it.
pub(crate) fn scrub_body(body: &[u8]) -> String {
    const LIMIT: usize = 512;
    let text = String::from_utf8_lossy(body);
    let scrubbed = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(mut value) => {
            scrub_value(&mut value);
            value.to_string()
        }
        // Not JSON: keep only what cannot be a token (no long alphanumeric runs).
        Err(_) => {
            text.split_whitespace().map(|w| if w.len() > 24 { "[redacted]" } else { w }).collect::<Vec<_>>().join(" ")
        }
    };
    if scrubbed.len() <= LIMIT {
        return scrubbed;
    }
    let mut end = LIMIT;
    while !scrubbed.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &scrubbed[..end], body.len())
}

fn scrub_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if looks_like_zoho_secret(s) => {
            *s = crate::secret::REDACTED.to_owned();
        }
        serde_json::Value::Object(map) => {
            let grant = is_grant_context(map);
            for (k, v) in map.iter_mut() {
                let secret = SECRET_KEYS.contains(&k.as_str()) || (grant && k == "code");
                if secret && v.is_string() {
                    *v = serde_json::Value::String(crate::secret::REDACTED.to_owned());
                } else {
                    scrub_value(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_tokens_and_truncates() {
        let body = br#"{"access_token":"1000.aaaa.bbbb","api_domain":"https://www.zohoapis.com","nested":{"refresh_token":"1000.cc.dd"}}"#;
        let s = scrub_body(body);
        assert!(!s.contains("1000.aaaa"));
        assert!(!s.contains("1000.cc"));
        assert!(s.contains("zohoapis"));
        let long = vec![b'a'; 4000];
        assert!(scrub_body(&long).len() < 600);
    }

    #[test]
    fn scrub_keeps_crm_error_codes_and_hides_grant_codes() {
        let crm = br#"{"data":[{"code":"INVALID_DATA","details":{"id":"1"},"message":"bad","status":"error"}]}"#;
        let s = scrub_body(crm);
        assert!(s.contains("INVALID_DATA"), "{s}");
        let top = scrub_body(br#"{"code":"MANDATORY_NOT_FOUND","status":"error"}"#);
        assert!(top.contains("MANDATORY_NOT_FOUND"), "{top}");
        // A token request or redirect: `code` is the grant code, whatever its shape.
        let grant = scrub_body(br#"{"grant_type":"authorization_code","code":"short-code","redirect_uri":"x"}"#);
        assert!(!grant.contains("short-code"), "{grant}");
        let redirect = scrub_body(br#"{"code":"abc","location":"eu"}"#);
        assert!(!redirect.contains("abc"), "{redirect}");
        // Anything shaped like a Zoho grant code or token, under any key.
        let shaped = scrub_body(br#"{"code":"1000.0a1b2c.ff09","note":["1000.dead.beef"]}"#);
        assert!(!shaped.contains("1000.0a1b2c") && !shaped.contains("1000.dead"), "{shaped}");
        assert!(looks_like_zoho_secret("1000.0a1b.c2d3"));
        assert!(!looks_like_zoho_secret("1000.0a1b"));
        assert!(!looks_like_zoho_secret("1000.xyz.c2d3"));
        assert!(!looks_like_zoho_secret("INVALID_DATA"));
    }

    #[test]
    fn decode_reason_names_the_field_and_hides_long_values() {
        #[derive(serde::Deserialize, Debug)]
        #[expect(dead_code, reason = "the test decodes it; only the error message is read")]
        struct T {
            items: Vec<Item>,
        }
        #[derive(serde::Deserialize, Debug)]
        #[expect(dead_code, reason = "the test decodes it; only the error message is read")]
        struct Item {
            n: i64,
        }
        let body = br#"{"items":[{"n":1},{"n":"1000.this-looks-like-a-token"}]}"#;
        let e = serde_json::from_slice::<T>(body).unwrap_err();
        let reason = decode_reason::<T>(body, &e);
        assert!(reason.contains("items[1].n"), "{reason}");
        assert!(!reason.contains("1000.this"), "{reason}");
    }
}
