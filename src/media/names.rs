//! Dates that phones and apps write into file names, for photos that carry no date
//! of their own (a WhatsApp copy, a screenshot, a scan renamed by hand).
//!
//! Read, in the name's own local time:
//! - `IMG_20190704_153012.jpg`, `VID_…`, `20190704_153012.jpg`, `PXL_20210101_101010123.jpg`
//!   (digits run together, milliseconds ignored);
//! - `Screenshot_2020-05-01-10-11-12.png`, `2019-07-04 15.30.12.jpg`,
//!   `Screenshot 2020-05-01 at 10.11.12.png` (separated);
//! - `IMG-20190704-WA0001.jpg`, `2019-07-04.jpg` (a day alone: midnight).
//!
//! A year from 1900 to 2099 and a real day are required, so a counter such as
//! `DSC01234` is never taken for a date.

use std::sync::LazyLock;

use chrono::{NaiveDate, NaiveTime};
use regex::Regex;

use super::metadata::{DateTaken, Source};

static DATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?:^|[^0-9])
        (?P<y>(?:19|20)[0-9]{2})[-_.]?(?P<mo>[0-9]{2})[-_.]?(?P<d>[0-9]{2})
        (?:
            (?:[\ _T-]|\ at\ )
            (?P<h>[0-9]{2})[-_.:h]?(?P<mi>[0-9]{2})[-_.:m]?(?P<s>[0-9]{2})[0-9]{0,3}
        )?
        (?:[^0-9]|$)",
    )
    .expect("a valid pattern")
});

/// The date a file's name (its stem) gives, if it gives one.
pub fn date_from_name(stem: &str) -> Option<DateTaken> {
    DATED.captures_iter(stem).find_map(|c| {
        let n = |k: &str| c.name(k).and_then(|m| m.as_str().parse::<u32>().ok());
        let day = NaiveDate::from_ymd_opt(n("y")? as i32, n("mo")?, n("d")?)?;
        let time = match (n("h"), n("mi"), n("s")) {
            (Some(h), Some(m), Some(s)) => NaiveTime::from_hms_opt(h, m, s)?,
            _ => NaiveTime::MIN,
        };
        Some(DateTaken {
            local: day.and_time(time),
            offset: None,
            source: Source::FileName,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(stem: &str) -> Option<String> {
        date_from_name(stem).map(|d| d.iso8601())
    }

    #[test]
    fn the_names_phones_and_apps_write() {
        let cases = [
            ("IMG_20190704_153012", "2019-07-04T15:30:12"),
            ("VID_20190704_153012", "2019-07-04T15:30:12"),
            ("20190704_153012", "2019-07-04T15:30:12"),
            ("PXL_20210101_101010123", "2021-01-01T10:10:10"),
            ("PXL_20210101_101010123.MP", "2021-01-01T10:10:10"),
            ("Screenshot_2020-05-01-10-11-12", "2020-05-01T10:11:12"),
            ("Screenshot_20200501-101112", "2020-05-01T10:11:12"),
            ("Screenshot 2020-05-01 at 10.11.12", "2020-05-01T10:11:12"),
            ("2019-07-04 15.30.12", "2019-07-04T15:30:12"),
            ("IMG-20190704-WA0001", "2019-07-04T00:00:00"),
            ("2019-07-04", "2019-07-04T00:00:00"),
        ];
        for (stem, want) in cases {
            assert_eq!(iso(stem).as_deref(), Some(want), "{stem}");
        }
    }

    #[test]
    fn counters_and_impossible_days_are_not_dates() {
        for stem in [
            "DSC01234",
            "IMG_1234",
            "P1010001",
            "20191332_101010",
            "120190704",
            "holiday",
        ] {
            assert_eq!(iso(stem), None, "{stem}");
        }
        // An impossible time leaves the day alone out too: the name is not a date.
        assert_eq!(iso("IMG_20190704_256199"), None);
    }
}
