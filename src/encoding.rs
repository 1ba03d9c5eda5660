//! Small byte encodings shared inside the crate: base64 (standard and URL-safe) and hex.

/// URL-safe base64 without padding (`A–Z a–z 0–9 - _`).
pub(crate) fn base64url_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 2);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[cfg(any(feature = "encryption", feature = "testkit"))]
/// Decodes standard or URL-safe base64, with or without padding; `None` for anything else,
/// including non-zero padding bits.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    // Leftover bits must be zero padding (at most 4 of them).
    if bits >= 6 || acc & ((1 << bits) - 1) != 0 {
        return None;
    }
    Some(out)
}

/// Lowercase hex.
#[cfg(any(feature = "encryption", feature = "sqlite", feature = "testkit"))]
pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// `n` random bytes from the OS. Falls back to time-derived bytes only if the OS has no
/// entropy source, so callers never panic (still unguessable enough for short-lived ids).
pub(crate) fn random_bytes(n: usize) -> Result<Vec<u8>, getrandom::Error> {
    let mut buf = vec![0u8; n];
    #[cfg(test)]
    if FAIL_RANDOM.with(std::cell::Cell::get) {
        return Err(getrandom::Error::UNSUPPORTED);
    }
    getrandom::fill(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
thread_local! {
    /// Tests make the OS random number generator fail on this thread.
    pub(crate) static FAIL_RANDOM: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Unique-enough bytes for identifiers that are not secrets (simulator sessions, lease owners)
/// when the OS generator fails: time, a counter and an address. Never used for secrets.
#[cfg(any(feature = "sqlite", feature = "testkit"))]
fn fallback_bytes(n: usize) -> Vec<u8> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let count = u128::from(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
        ^ (count << 64)
        ^ (&COUNTER as *const _ as usize as u128);
    (0..n).map(|i| (t >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(151)).collect()
}

/// `n` random bytes as lowercase hex, for identifiers that are not secrets.
#[cfg(any(feature = "sqlite", feature = "testkit"))]
pub(crate) fn random_hex(n: usize) -> String {
    hex_encode(&random_bytes(n).unwrap_or_else(|_| fallback_bytes(n)))
}

/// Decodes hex (either case); `None` for odd length or a non-hex digit.
#[cfg(feature = "encryption")]
pub(crate) fn hex_decode(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let value = |d: u8| char::from(d).to_digit(16).and_then(|v| u8::try_from(v).ok());
    digits.chunks_exact(2).map(|pair| Some(value(pair[0])? << 4 | value(pair[1])?)).collect()
}

#[cfg(all(test, any(feature = "encryption", feature = "testkit")))]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(feature = "encryption", feature = "testkit"))]
    fn base64_round_trips_both_alphabets() {
        for len in 0..40u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(97).wrapping_add(251)).collect();
            assert_eq!(base64_decode(&base64url_encode(&bytes)).unwrap(), bytes);
        }
        assert_eq!(base64_decode("aGk").unwrap(), b"hi");
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert!(base64_decode("aGl").is_none()); // non-zero padding bits
        assert!(base64_decode("a*b").is_none());
    }

    #[test]
    #[cfg(feature = "encryption")]
    fn hex_round_trips() {
        assert_eq!(hex_encode(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(hex_decode("00ABff").unwrap(), vec![0, 0xab, 0xff]);
        assert!(hex_decode("abc").is_none());
        assert!(hex_decode("zz").is_none());
    }
}
