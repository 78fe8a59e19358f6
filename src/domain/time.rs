use serde::{Serialize, Serializer};
use time::OffsetDateTime;

/// A moment in UTC with microsecond precision, stored as microseconds since the Unix epoch so that both
/// databases sort and compare it as a plain integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Self {
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        Self((nanos / 1_000) as i64)
    }

    pub fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    pub fn micros(self) -> i64 {
        self.0
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1_000_000)))
    }

    fn datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2023-11-07T05:31:56.123Z`.
    pub fn to_rfc3339_millis(self) -> String {
        let dt = self.datetime();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            dt.millisecond()
        )
    }

    /// RFC 3339 in UTC to the second, e.g. `2023-11-07T05:31:56Z` (seed 002's form).
    pub fn to_rfc3339_seconds(self) -> String {
        let dt = self.datetime();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_millis_or_seconds() {
        let t = Timestamp::from_micros(1_699_335_116_123_456);
        assert_eq!(t.to_rfc3339_millis(), "2023-11-07T05:31:56.123Z");
        assert_eq!(t.to_rfc3339_seconds(), "2023-11-07T05:31:56Z");
    }
}
