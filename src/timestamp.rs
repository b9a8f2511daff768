//! Timestamps as tickbench writes them: RFC 3339 in UTC with whole seconds, e.g.
//! `2026-11-27T22:13:31Z`. Stored baselines (`created`), load-test reports (`timestamp`) and
//! `tickbench bench`'s default run names all come from here, so they read alike.

use std::time::SystemTime;

/// The current time, e.g. `2026-11-27T22:13:31Z`.
pub fn now_rfc3339() -> String {
    rfc3339_at(SystemTime::now())
}

/// `t` to the second (a time before 1970 reads as the epoch).
pub fn rfc3339_at(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the Unix epoch (Howard Hinnant's `civil_from_days`).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_818_811), "2026-11-27T22:33:31Z");
    }

    #[test]
    fn rfc3339_known_dates() {
        let at = |s: u64| rfc3339_at(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_795_820_497), "2026-11-27T23:01:37Z");
    }
}
