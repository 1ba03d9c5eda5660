//! Property tests: every table URL resolves back to its DC (and environment); mutated
//! look-alikes never resolve to a DC whose URL they are not; random input never panics.

use proptest::prelude::*;
use zohocrm::dc::{DataCenter, Endpoints, Environment};

fn any_dc() -> impl Strategy<Value = DataCenter> {
    prop::sample::select(DataCenter::ALL.to_vec())
}

fn any_env() -> impl Strategy<Value = Environment> {
    prop::sample::select(Environment::ALL.to_vec())
}

/// Upper-cases the ASCII letters of `s` selected by `mask` (bit i for letter i, cycling).
fn mangle_case(s: &str, mask: u64) -> String {
    s.chars().enumerate().map(|(i, c)| if mask >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c }).collect()
}

/// Percent-encodes every character that is not alphanumeric (how a redirect may carry it).
fn encode_all(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("%{:02X}", c as u32) }).collect()
}

/// The independent oracle: what a received value must be, up to case, one trailing slash and
/// one whole-value percent-decoding, to name a table entry (Zoho's table has no paths).
fn oracle(s: &str) -> String {
    let decoded = if !s.contains("://") && s.contains('%') {
        percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
    } else {
        s.to_owned()
    };
    let lower = decoded.to_ascii_lowercase();
    lower.strip_suffix('/').map(str::to_owned).unwrap_or(lower)
}

/// Asserts that `s` resolves only to a DC whose accounts server it really is, and only to an
/// API domain it really is.
fn assert_sound(e: &Endpoints, s: &str) {
    if let Ok(dc) = e.resolve_accounts_server(s) {
        assert_eq!(oracle(s), dc.accounts_server(), "{s:?} resolved to {dc}");
    }
    if let Ok((dc, env)) = e.resolve_api_domain(s) {
        assert_eq!(oracle(s), dc.api_domain(env), "{s:?} resolved to {dc} {env}");
    }
}

/// Hostile rewrites of a host `h` (without scheme).
fn mutate(h: &str, kind: u8, word: &str, n: u16) -> String {
    match kind % 20 {
        0 => format!("https://{h}.{word}"),
        1 => format!("https://{word}.{h}"),
        2 => format!("https://{word}{h}"),
        3 => format!("https://{h}:{n}"),
        4 => format!("https://{h}/{word}"),
        5 => format!("https://{word}@{h}"),
        6 => format!("https://{h}@{word}.com"),
        7 => format!("https://{h}?{word}"),
        8 => format!("https://{h}#{word}"),
        9 => format!("https://{word}.com/?{h}"),
        10 => format!("https://{word}.com#{h}"),
        11 => format!("https://{h}."),
        12 => format!("http://{h}"),
        13 => {
            // Percent-encode one character of the host inside an otherwise plain URL.
            let i = n as usize % h.len();
            let c = h.as_bytes()[i];
            format!("https://{}%{c:02X}{}", &h[..i], &h[i + 1..])
        }
        14 => format!("https://{word}.com/{h}"),
        15 => format!("https://{h}\\@{word}.com"),
        16 => encode_all(&format!("https://{h}@{word}.com")),
        17 => encode_all(&format!("https://{word}.com/?{h}")),
        18 => h.to_owned(),
        _ => format!("https://{h}{word}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_accounts_server_resolves_back(dc in any_dc(), mask in any::<u64>(), slash in any::<bool>(), encode in any::<bool>()) {
        let e = Endpoints::zoho();
        let mut s = mangle_case(dc.accounts_server(), mask);
        if slash { s.push('/'); }
        if encode { s = encode_all(&s); }
        prop_assert_eq!(e.resolve_accounts_server(&s), Ok(dc));
        prop_assert_eq!(e.resolve_redirect(Some(&mangle_case(dc.location(), mask)), Some(&s)), Ok(dc));
    }

    #[test]
    fn every_api_domain_resolves_back(dc in any_dc(), env in any_env(), mask in any::<u64>(), slash in any::<bool>()) {
        let e = Endpoints::zoho();
        let mut s = mangle_case(dc.api_domain(env), mask);
        if slash { s.push('/'); }
        prop_assert_eq!(e.resolve_api_domain(&s), Ok((dc, env)));
    }

    #[test]
    fn look_alikes_never_resolve_to_a_dc_they_are_not(
        dc in any_dc(), env in any_env(), kind in any::<u8>(), word in "[a-z0-9]{1,12}", n in any::<u16>(),
    ) {
        let e = Endpoints::zoho();
        for base in [dc.accounts_server(), dc.api_domain(env)] {
            let host = base.trim_start_matches("https://");
            let s = mutate(host, kind, &word, n);
            // Some rewrites land on another real entry (accounts.zoho.com + ".au"); the oracle
            // allows exactly that and nothing else.
            assert_sound(&e, &s);
            if kind % 20 != 0 {
                prop_assert!(e.resolve_accounts_server(&s).is_err(), "{:?} accepted", s);
                prop_assert!(e.resolve_api_domain(&s).is_err(), "{:?} accepted", s);
            }
        }
    }

    #[test]
    fn random_strings_never_panic(s in any::<String>()) {
        let e = Endpoints::zoho();
        assert_sound(&e, &s);
        let _ = e.resolve_location(&s);
        let _ = e.resolve_redirect(Some(&s), Some(&s));
        let _ = s.parse::<Environment>();
        let _ = e.clone().with_accounts_server(DataCenter::Eu, &s);
        let _ = e.clone().with_api_domain(DataCenter::Eu, Environment::Sandbox, &s);
        let _ = e.clone().with_authorization_server(&s);
        if let Err(err) = e.resolve_accounts_server(&s) {
            let _ = err.to_string();
        }
    }

    #[test]
    fn url_like_strings_are_sound(s in "[a-zA-Z0-9:/.%@?#\\[\\]_~\\\\-]{0,48}") {
        assert_sound(&Endpoints::zoho(), &s);
    }

    #[test]
    fn near_misses_assembled_from_real_pieces_are_sound(
        pieces in prop::collection::vec(prop::sample::select(vec![
            "https://", "http://", "HTTPS://", "//", "accounts", "www", "sandbox", "developer", ".zoho",
            ".zohoapis", "zohocloud", ".com", ".eu", ".in", ".au", ".cn", ".jp", ".ca", ".sa", ".uk", ".",
            "/", "%2F", "%3A", "%2E", "%40", "%25", "@", "?", "#", ":", ":443", "evil", "-", "\\",
        ]), 1..10),
    ) {
        let s: String = pieces.concat();
        assert_sound(&Endpoints::zoho(), &s);
    }

    #[test]
    fn userinfo_never_reaches_an_error(dc in any_dc(), user in "[a-z]{1,8}", pw in "[A-Za-z0-9]{10,16}", encode in any::<bool>()) {
        let host = dc.accounts_server().trim_start_matches("https://");
        let marked = format!("PW{pw}");
        let mut s = format!("https://{user}:{marked}@{host}");
        if encode { s = encode_all(&s); }
        let err = Endpoints::zoho().resolve_accounts_server(&s).unwrap_err();
        prop_assert!(!err.to_string().contains(&marked));
        let debug = format!("{err:?}");
        prop_assert!(!debug.contains(&marked));
        let err = Endpoints::zoho().with_accounts_server(dc, &s).unwrap_err();
        prop_assert!(!err.to_string().contains(&marked));
    }

    #[test]
    fn loopback_overrides_resolve_back(dc in any_dc(), env in any_env(), port in 1u16.., seg in "[a-z0-9_~.-]{0,12}") {
        let seg = seg.trim_matches('.');
        let accounts = format!("http://127.0.0.1:{port}/{seg}/acc");
        let api = format!("http://[::1]:{port}/{seg}/api/");
        let e = Endpoints::zoho()
            .with_accounts_server(dc, &accounts).unwrap()
            .with_api_domain(dc, env, &api).unwrap();
        prop_assert_eq!(e.resolve_accounts_server(e.accounts_server(dc)), Ok(dc));
        prop_assert_eq!(e.resolve_api_domain(e.api_domain(dc, env)), Ok((dc, env)));
        prop_assert_eq!(e.token_url(dc), format!("{}/oauth/v2/token", e.accounts_server(dc)));
        prop_assert!(!e.api_domain(dc, env).ends_with('/'));
    }
}
