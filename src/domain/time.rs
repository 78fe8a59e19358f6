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
        match self.civil() {
            Some(c) => c.rfc3339(true).as_str().to_owned(),
            None => self.to_rfc3339_millis_formatted(),
        }
    }

    /// RFC 3339 in UTC to the second, e.g. `2023-11-07T05:31:56Z` (seed 002's form).
    pub fn to_rfc3339_seconds(self) -> String {
        match self.civil() {
            Some(c) => c.rfc3339(false).as_str().to_owned(),
            None => self.to_rfc3339_seconds_formatted(),
        }
    }

    /// The same form as [`Self::to_rfc3339_seconds`], serialized without a `String` of its own.
    pub fn seconds(self) -> Seconds {
        Seconds(self)
    }

    /// The calendar fields, when the year has four digits (0 to 9999). Every response carries a
    /// timestamp or two, and going through `format!` cost as much as the rest of a body's fields.
    fn civil(self) -> Option<Civil> {
        let seconds = self.0.div_euclid(1_000_000);
        let millis = (self.0.rem_euclid(1_000_000) / 1_000) as u32;
        let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400) as u32);
        let (year, month, day) = civil_from_days(days);
        let year = u16::try_from(year).ok().filter(|y| *y <= 9999)?;
        Some(Civil { year, month, day, hour: of_day / 3600, minute: of_day / 60 % 60, second: of_day % 60, millis })
    }

    /// Years outside 0-9999 (no client sends them, but a stored value may be anything): the
    /// calendar library's fields and `format!`'s signs and widths, as before the fast path.
    fn to_rfc3339_millis_formatted(self) -> String {
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

    fn to_rfc3339_seconds_formatted(self) -> String {
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

/// Days since 1970-01-01 as a proleptic Gregorian (year, month, day): H. Hinnant's `civil_from_days`,
/// which counts in 400-year eras of 146,097 days starting on a 1 March.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 } as u32;
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// A timestamp's calendar fields in UTC, with a four-digit year.
struct Civil {
    year: u16,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    millis: u32,
}

impl Civil {
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, or without `.mmm`, on the stack.
    fn rfc3339(&self, with_millis: bool) -> Rfc3339 {
        let mut b = *b"0000-00-00T00:00:00.000Z";
        digits(&mut b[0..4], u32::from(self.year));
        digits(&mut b[5..7], self.month);
        digits(&mut b[8..10], self.day);
        digits(&mut b[11..13], self.hour);
        digits(&mut b[14..16], self.minute);
        digits(&mut b[17..19], self.second);
        let len = if with_millis {
            digits(&mut b[20..23], self.millis);
            24
        } else {
            b[19] = b'Z';
            20
        };
        Rfc3339 { bytes: b, len }
    }
}

/// `n`'s last `out.len()` decimal digits, zero-padded.
fn digits(out: &mut [u8], mut n: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

struct Rfc3339 {
    bytes: [u8; 24],
    len: usize,
}

impl Rfc3339 {
    fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written, so this is always valid UTF-8.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.civil() {
            Some(c) => serializer.serialize_str(c.rfc3339(true).as_str()),
            None => serializer.serialize_str(&self.to_rfc3339_millis_formatted()),
        }
    }
}

/// A timestamp serialized to the second (seed 002's form); see [`Timestamp::seconds`].
#[derive(Debug, Clone, Copy)]
pub struct Seconds(Timestamp);

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.civil() {
            Some(c) => serializer.serialize_str(c.rfc3339(false).as_str()),
            None => serializer.serialize_str(&self.0.to_rfc3339_seconds_formatted()),
        }
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

    /// Every written form equals what the calendar library and `format!` make of the same instant:
    /// around the epoch, leap days and centuries, the ends of the four-digit years, and beyond
    /// them, where the formatted path answers.
    #[test]
    fn the_stack_written_forms_equal_the_formatted_ones() {
        let day = 86_400_000_000_i64;
        let year_zero = -62_167_219_200_000_000_i64;
        let after_year_9999 = 253_402_300_800_000_000_i64;
        let mut instants = vec![0, -1, 1, 999, 1_000, -1_000, -1_001, i64::MIN, i64::MAX];
        for edge in [year_zero, after_year_9999, 951_782_400_000_000, 4_107_542_400_000_000, -2_203_891_200_000_000] {
            instants.extend([edge - 1, edge, edge + 1, edge - day, edge + day]);
        }
        // Every day and some (at odd hours and microseconds) around the ends of the four-digit years
        // and 1896-2104 (leap days, the centuries 1900, 2000, 2100), and every few weeks in between.
        let odd = 3_600_000_000 * 7 + 123_457;
        let y1896 = -2_335_219_200_000_000_i64;
        for (from, to, step) in [
            (year_zero - 4 * 366 * day, year_zero + 4 * 366 * day, day + odd),
            (y1896, y1896 + 208 * 366 * day, day + odd),
            (after_year_9999 - 4 * 366 * day, after_year_9999 + 4 * 366 * day, day + odd),
            (year_zero - 400 * 366 * day, after_year_9999 + 400 * 366 * day, 37 * day + odd),
        ] {
            instants.extend((from..to).step_by(step as usize));
        }
        for micros in instants {
            let t = Timestamp::from_micros(micros);
            assert_eq!(t.to_rfc3339_millis(), t.to_rfc3339_millis_formatted(), "{micros}");
            assert_eq!(t.to_rfc3339_seconds(), t.to_rfc3339_seconds_formatted(), "{micros}");
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{}\"", t.to_rfc3339_millis_formatted()));
            assert_eq!(
                serde_json::to_string(&t.seconds()).unwrap(),
                format!("\"{}\"", t.to_rfc3339_seconds_formatted())
            );
        }
        assert!(Timestamp::from_micros(year_zero).civil().is_some());
        assert!(Timestamp::from_micros(year_zero - 1).civil().is_none());
        assert!(Timestamp::from_micros(after_year_9999 - 1).civil().is_some());
        assert!(Timestamp::from_micros(after_year_9999).civil().is_none());
    }
}
