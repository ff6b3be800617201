//! Virtual time: milliseconds since the start of a run, the wall-clock instant it maps to, and
//! the duration syntax scenario files use (`500ms`, `30s`, `10m`, `2h`, `1h30m`).

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Milliseconds since the start of the run.
pub type SimTime = u64;

/// The wall-clock instant virtual time 0 maps to: 2026-01-01T00:00:00Z.
pub const EPOCH_SECONDS: i64 = 1_767_225_600;

/// The timestamp of virtual time `t`.
pub fn timestamp(t: SimTime) -> Timestamp {
    let ms = EPOCH_SECONDS.saturating_mul(1000).saturating_add(i64::try_from(t).unwrap_or(i64::MAX / 2));
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The virtual time of a timestamp (0 for instants before the epoch).
pub fn sim_time(ts: Timestamp) -> SimTime {
    let ms = ts.as_millisecond() - EPOCH_SECONDS * 1000;
    u64::try_from(ms).unwrap_or(0)
}

/// A duration in milliseconds, written and read as `1h2m3s`, `30s`, `250ms`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dur(pub u64);

impl Dur {
    /// `s` seconds.
    pub const fn secs(s: u64) -> Self {
        Self(s * 1000)
    }
    /// `ms` milliseconds.
    pub const fn millis(ms: u64) -> Self {
        Self(ms)
    }
    /// As a std duration.
    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }
    /// From a std duration (saturating).
    pub fn from_std(d: std::time::Duration) -> Self {
        Self(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A duration string that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse {0:?} as a duration (use e.g. 500ms, 30s, 10m, 1h30m)")]
pub struct BadDuration(pub String);

impl std::str::FromStr for Dur {
    type Err = BadDuration;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadDuration(s.to_owned());
        let t = s.trim();
        if t.is_empty() {
            return Err(bad());
        }
        if t == "0" {
            return Ok(Dur(0));
        }
        let mut total: u64 = 0;
        let mut rest = t;
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
            if digits == 0 {
                return Err(bad());
            }
            let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
            let factor = match &rest[..unit_len] {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return Err(bad()),
            };
            total = total.checked_add(n.checked_mul(factor).ok_or_else(bad)?).ok_or_else(bad)?;
            rest = &rest[unit_len..];
        }
        Ok(Dur(total))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if ms == 0 {
            return f.write_str("0s");
        }
        let (h, rem) = (ms / 3_600_000, ms % 3_600_000);
        let (m, rem) = (rem / 60_000, rem % 60_000);
        let (s, milli) = (rem / 1000, rem % 1000);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if s > 0 || (milli > 0 && (h > 0 || m > 0)) {
            if milli > 0 {
                write!(f, "{s}.{milli:03}s")?;
            } else {
                write!(f, "{s}s")?;
            }
        } else if milli > 0 {
            write!(f, "{milli}ms")?;
        }
        Ok(())
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Seconds(s) => Ok(Dur::secs(s)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_durations() {
        for (text, ms) in [("30s", 30_000), ("10m", 600_000), ("1h30m", 5_400_000), ("250ms", 250), ("0", 0)]
        {
            assert_eq!(text.parse::<Dur>(), Ok(Dur(ms)), "{text}");
        }
        assert_eq!(Dur(5_400_000).to_string(), "1h30m");
        assert_eq!(Dur(1_500).to_string(), "1.500s");
        assert_eq!(Dur(250).to_string(), "250ms");
        assert!("10x".parse::<Dur>().is_err());
        assert!("s".parse::<Dur>().is_err());
    }

    #[test]
    fn virtual_time_maps_to_epoch() {
        assert_eq!(timestamp(0).to_string(), "2026-01-01T00:00:00Z");
        assert_eq!(sim_time(timestamp(90_000)), 90_000);
    }
}
