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

    /// RFC 3339 in UTC with milliseconds, e.g. `2023-11-07T05:31:56.123Z`. Written digit by digit:
    /// every record's JSON carries two of these, and the general formatter was most of their cost.
    pub fn to_rfc3339_millis(self) -> String {
        let dt = self.datetime();
        let (year, month, day) = dt.to_calendar_date();
        let Ok(year @ 0..=9999) = u32::try_from(year) else {
            return Self::formatted_millis(dt);
        };
        let (hour, minute, second, milli) = dt.to_hms_milli();
        let mut s = String::with_capacity(24);
        for (n, width, then) in [
            (year, 4, '-'),
            (u32::from(u8::from(month)), 2, '-'),
            (u32::from(day), 2, 'T'),
            (u32::from(hour), 2, ':'),
            (u32::from(minute), 2, ':'),
            (u32::from(second), 2, '.'),
            (u32::from(milli), 3, 'Z'),
        ] {
            for p in (0..width).rev() {
                s.push(char::from(b'0' + (n / 10u32.pow(p) % 10) as u8));
            }
            s.push(then);
        }
        s
    }

    /// [`Timestamp::to_rfc3339_millis`] by the general formatter, for years before year 0.
    fn formatted_millis(dt: OffsetDateTime) -> String {
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

    #[test]
    fn the_digit_by_digit_millis_are_the_general_formatters() {
        let day = 86_400_000_000;
        let samples = [0, 999, 1_000, 59_999_999, -1, -day, 951_782_400_000_000, 253_402_300_799_999_999]
            .into_iter()
            .chain((0..2_000).map(|n| n * 37 * day / 10 + n * 1_234_567));
        for micros in samples {
            let t = Timestamp::from_micros(micros);
            assert_eq!(t.to_rfc3339_millis(), Timestamp::formatted_millis(t.datetime()), "{micros}");
        }
    }

    #[test]
    fn years_before_year_zero_still_format() {
        let t = Timestamp::from_micros(-62_167_219_201_000_000);
        assert_eq!(t.to_rfc3339_millis(), "-001-12-31T23:59:59.000Z");
    }
}
