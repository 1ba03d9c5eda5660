//! Calendar arithmetic for the simulator: Zoho's ISO 8601 timestamps (`2019-07-25T15:26:49+05:30`)
//! and HTTP dates, without a date-time crate.

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats epoch seconds as Zoho does: local time at `offset_secs` east of UTC, with the offset
/// (`2019-07-25T15:26:49+05:30`).
pub(crate) fn format_iso(epoch_secs: i64, offset_secs: i32) -> String {
    let local = epoch_secs + i64::from(offset_secs);
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let off = offset_secs.unsigned_abs();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        off / 3600,
        off % 3600 / 60
    )
}

/// Reads `n` ASCII digits at the start of `s`.
fn digits(s: &str, n: usize) -> Option<(i64, &str)> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[n..]))
}

fn eat(s: &str, c: char) -> Option<&str> {
    s.strip_prefix(c)
}

/// Parses an ISO 8601 date-time with an offset (`2019-07-25T15:26:49+05:30`, `...Z`,
/// `...+0530`, optional fractional seconds) into epoch seconds. No offset is an error:
/// the instant would be ambiguous.
pub(crate) fn parse_iso(s: &str) -> Option<i64> {
    let s = s.trim();
    let (year, s) = digits(s, 4)?;
    let (month, s) = digits(eat(s, '-')?, 2)?;
    let (day, s) = digits(eat(s, '-')?, 2)?;
    let s = s.strip_prefix('T').or_else(|| s.strip_prefix('t')).or_else(|| s.strip_prefix(' '))?;
    let (hour, s) = digits(s, 2)?;
    let (minute, s) = digits(eat(s, ':')?, 2)?;
    let (second, mut s) = digits(eat(s, ':')?, 2)?;
    if let Some(rest) = s.strip_prefix('.') {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        s = &rest[n..];
    }
    let offset = if s == "Z" || s == "z" {
        0
    } else {
        let sign = match s.chars().next()? {
            '+' => 1,
            '-' => -1,
            _ => return None,
        };
        let (oh, rest) = digits(&s[1..], 2)?;
        let rest = rest.strip_prefix(':').unwrap_or(rest);
        let (om, rest) = digits(rest, 2)?;
        if !rest.is_empty() || oh > 23 || om > 59 {
            return None;
        }
        sign * (oh * 3600 + om * 60)
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Parses an RFC 7231 HTTP date (`Thu, 25 Jul 2019 09:56:49 GMT`) into epoch seconds.
pub(crate) fn parse_http_date(s: &str) -> Option<i64> {
    let mut parts = s.split_whitespace();
    let _weekday = parts.next()?;
    let day: u32 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let h: i64 = hms.next()?.parse().ok()?;
    let m: i64 = hms.next()?.parse().ok()?;
    let sec: i64 = hms.next()?.parse().ok()?;
    if parts.next()? != "GMT" || parts.next().is_some() || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec)
}

/// Parses an `If-Modified-Since` value: ISO 8601 with offset (Zoho's form), or an HTTP date.
pub(crate) fn parse_if_modified_since(s: &str) -> Option<i64> {
    parse_iso(s).or_else(|| parse_http_date(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_zoho_timestamps() {
        let t = parse_iso("2019-07-25T15:26:49+05:30").unwrap();
        assert_eq!(t, 1_564_048_609);
        assert_eq!(format_iso(t, 19_800), "2019-07-25T15:26:49+05:30");
        assert_eq!(format_iso(t, -7 * 3600), "2019-07-25T02:56:49-07:00");
        assert_eq!(parse_iso("2019-07-25T09:56:49Z"), Some(t));
        assert_eq!(parse_iso("2019-07-25T09:56:49.123Z"), Some(t));
        assert_eq!(parse_iso("2019-07-25T15:26:49+0530"), Some(t));
        assert_eq!(parse_http_date("Thu, 25 Jul 2019 09:56:49 GMT"), Some(t));
        assert_eq!(format_iso(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(parse_iso("2000-02-29T00:00:00+00:00"), Some(951_782_400));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2019-07-25",
            "2019-07-25T15:26:49",
            "2019-13-25T15:26:49Z",
            "2019-07-25T15:26:49+5:30",
            "x019-07-25T15:26:49Z",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
    }
}
