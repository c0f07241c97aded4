//! Time: the generated period, and the daily, weekly, seasonal and holiday rhythms
//! that shape when events happen, as plain tables normalised to a mean of one.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday};
use chrono_tz::Europe::Stockholm;
use rand::Rng;
use rand_pcg::Pcg64;

use crate::rng::Weighted;

/// The generated period: `years` years ending at `end`, both ends inclusive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Period {
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
}

impl Period {
    /// The `years` years ending at `end` (a 29 February start becomes 1 March).
    pub fn ending(end: NaiveDate, years: u32) -> Option<Period> {
        let year = end.year().checked_sub(i32::try_from(years).ok()?)?;
        let same_day = NaiveDate::from_ymd_opt(year, end.month(), end.day())
            .or_else(|| NaiveDate::from_ymd_opt(year, end.month(), 28))?;
        Some(Period {
            start: same_day.succ_opt()?,
            end,
        })
    }

    /// Number of days.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    /// Every day in order.
    pub fn each_day(&self) -> impl Iterator<Item = NaiveDate> {
        let start = self.start;
        (0..self.days()).map(move |i| start + Duration::days(i))
    }

    /// Length in years of 365.25 days.
    pub fn years(&self) -> f64 {
        self.days() as f64 / 365.25
    }

    /// Years from the middle of the period to `day` (negative before it): the
    /// argument of slow trends, so that a trend leaves the period's mean unchanged.
    pub fn years_from_middle(&self, day: NaiveDate) -> f64 {
        ((day - self.start).num_days() as f64 - (self.days() - 1) as f64 / 2.0) / 365.25
    }

    /// The last moment of the period.
    pub fn end_moment(&self) -> NaiveDateTime {
        self.end.and_time(NaiveTime::MIN) + Duration::seconds(86_399)
    }
}

/// 24 hourly weights.
pub(crate) type Hours = [f64; 24];

/// Night life: violence, disorder.
pub(crate) const H_NIGHTLIFE: Hours = [
    8.0, 7.5, 6.5, 4.5, 2.5, 1.2, 0.8, 0.8, 1.0, 1.2, 1.4, 1.8, 2.0, 2.2, 2.3, 2.5, 2.8, 3.2, 3.6,
    4.0, 4.6, 5.4, 6.3, 7.4,
];
/// Shops and streets in daytime: shoplifting, pickpocketing.
pub(crate) const H_DAY: Hours = [
    0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 5.2, 5.2, 5.2, 5.3, 5.4, 5.0, 4.5,
    3.5, 2.5, 1.6, 1.0, 0.5,
];
/// Afternoon and evening: threats, harassment, drug dealing.
pub(crate) const H_EVENING: Hours = [
    2.0, 1.5, 1.0, 0.7, 0.5, 0.5, 0.7, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 3.5, 4.0, 4.5, 5.0, 5.5, 5.5,
    5.0, 4.5, 4.0, 3.0, 2.5,
];
/// Vehicles at night.
pub(crate) const H_NIGHT: Hours = [
    5.0, 5.0, 4.5, 3.5, 2.5, 1.5, 1.0, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9, 1.0, 1.0, 1.1, 1.5,
    2.0, 3.0, 3.5, 4.2, 4.8,
];
/// Burglary: homes empty in the daytime.
pub(crate) const H_BURGLARY: Hours = [
    1.0, 0.8, 0.6, 0.5, 0.5, 0.6, 0.8, 1.2, 2.0, 3.0, 3.5, 3.5, 3.5, 3.5, 3.5, 3.0, 3.0, 3.0, 3.0,
    2.5, 2.0, 1.6, 1.3, 1.1,
];
/// Office hours: fraud reported by time of the act.
pub(crate) const H_OFFICE: Hours = [
    0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 3.0, 4.0, 4.0, 4.0, 3.5, 4.0, 4.0, 3.5, 3.0, 2.0, 1.5,
    1.0, 0.8, 0.6, 0.4, 0.3,
];
/// Violence at home: evenings and nights.
pub(crate) const H_DOMESTIC: Hours = [
    3.0, 2.5, 2.0, 1.5, 1.0, 0.7, 0.6, 0.7, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.5, 3.0, 3.5, 4.0,
    4.5, 4.5, 4.5, 4.0, 3.5,
];
/// Traffic: rush hours with a late-night tail for drink driving.
pub(crate) const H_TRAFFIC: Hours = [
    1.5, 1.4, 1.2, 0.8, 0.6, 0.8, 1.5, 3.0, 3.5, 2.5, 2.0, 2.2, 2.5, 2.5, 2.8, 3.5, 4.0, 4.0, 3.2,
    2.5, 2.0, 1.8, 1.7, 1.6,
];
/// Fires in homes: cooking hours.
pub(crate) const H_HOME_FIRE: Hours = [
    1.5, 1.2, 1.0, 0.8, 0.6, 0.6, 0.8, 1.2, 1.5, 1.6, 1.8, 2.2, 2.5, 2.2, 2.0, 2.2, 2.8, 3.4, 3.6,
    3.4, 3.0, 2.6, 2.2, 1.8,
];
/// Shootings: late evening and night.
pub(crate) const H_SHOOTING: Hours = [
    6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.6, 0.8, 1.0, 1.0, 1.2, 1.5, 2.0, 2.5, 3.5,
    4.5, 5.5, 6.5, 7.0, 7.0,
];
/// Weekday weights, Monday first.
pub(crate) type Week = [f64; 7];

/// Even over the week.
pub(crate) const W_FLAT: Week = [1.0; 7];
/// Violence: Friday and Saturday nights (which end on Saturday and Sunday).
pub(crate) const W_WEEKEND: Week = [0.8, 0.8, 0.85, 0.9, 1.05, 1.45, 1.15];
/// Shopping days.
pub(crate) const W_SHOPPING: Week = [1.0, 1.0, 1.0, 1.05, 1.1, 1.0, 0.85];
/// Working days.
pub(crate) const W_WORKDAY: Week = [1.2, 1.2, 1.2, 1.2, 1.1, 0.55, 0.55];

/// Month weights, January first.
pub(crate) type Months = [f64; 12];

/// No seasonal variation.
pub(crate) const M_FLAT: Months = [1.0; 12];
/// Outdoor life: violence, disorder, harassment peak in summer.
pub(crate) const M_SUMMER: Months = [
    0.85, 0.85, 0.95, 1.0, 1.1, 1.15, 1.1, 1.1, 1.05, 0.95, 0.9, 0.95,
];
/// Bicycles: almost a summer-only crime.
pub(crate) const M_BIKE: Months = [
    0.35, 0.35, 0.6, 1.0, 1.4, 1.6, 1.6, 1.6, 1.5, 1.1, 0.6, 0.35,
];
/// Burglary: dark months and the July holidays.
pub(crate) const M_DARK: Months = [
    1.2, 1.0, 0.9, 0.85, 0.85, 0.9, 1.15, 1.0, 0.9, 1.0, 1.1, 1.15,
];
/// Graffiti and vandalism: the warm half-year.
pub(crate) const M_WARM: Months = [0.7, 0.7, 0.9, 1.1, 1.2, 1.2, 1.1, 1.2, 1.2, 1.0, 0.9, 0.8];
/// Shopping and fraud: Christmas.
pub(crate) const M_CHRISTMAS: Months = [
    0.95, 0.9, 0.95, 0.95, 0.95, 0.95, 0.9, 0.95, 1.0, 1.05, 1.1, 1.35,
];
/// Grass and forest fires: dry spring grass, summer.
pub(crate) const M_GRASS: Months = [0.2, 0.2, 0.6, 2.2, 2.2, 1.8, 1.6, 1.2, 0.6, 0.3, 0.2, 0.2];
/// Fires in homes: winter.
pub(crate) const M_WINTER: Months = [1.3, 1.2, 1.1, 1.0, 0.9, 0.8, 0.8, 0.8, 0.9, 1.0, 1.1, 1.3];

/// A category's rhythm: hours, weekdays, months, and whether holidays raise it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rhythm {
    /// Hour-of-day weights.
    pub hours: &'static Hours,
    /// Day-of-week weights.
    pub week: &'static Week,
    /// Month weights.
    pub months: &'static Months,
    /// Whether night-life holidays (New Year, Valborg, Midsummer) raise the volume.
    pub party: bool,
}

impl Rhythm {
    /// The day's multiplier of the mean daily volume (weekday × month × holiday).
    pub fn day_factor(&self, day: NaiveDate) -> f64 {
        let week = normalised(self.week)[day.weekday().num_days_from_monday() as usize];
        let month = normalised(self.months)[day.month0() as usize];
        let holiday = if self.party { party_factor(day) } else { 1.0 };
        week * month * holiday
    }

    /// A time of day on `day` following the hour profile; on weekend nights (the
    /// small hours of Saturday and Sunday) night-life profiles get heavier.
    pub fn time_on(&self, day: NaiveDate, rng: &mut Pcg64) -> NaiveDateTime {
        let weekend_night =
            matches!(day.weekday(), Weekday::Sat | Weekday::Sun) || is_party_day(day);
        let boost = self.party && weekend_night;
        let table = Weighted::new(self.hours.iter().enumerate().map(|(h, &w)| {
            if boost && h < 5 {
                w * 2.5
            } else {
                w
            }
        }));
        let hour = table.draw(rng) as u32;
        let second = hour * 3600 + rng.random_range(0..3600);
        local(day, second)
    }
}

/// The weights scaled to a mean of one.
fn normalised<const N: usize>(w: &[f64; N]) -> [f64; N] {
    let mean = w.iter().sum::<f64>() / N as f64;
    w.map(|v| if mean > 0.0 { v / mean } else { 1.0 })
}

/// Midsummer Eve: the Friday between 19 and 25 June.
pub(crate) fn is_midsummer_eve(day: NaiveDate) -> bool {
    day.month() == 6 && (19..=25).contains(&day.day()) && day.weekday() == Weekday::Fri
}

/// Days after a big party night (New Year's Day, 1 May, Midsummer Day) or the party
/// evening itself.
fn is_party_day(day: NaiveDate) -> bool {
    let (m, d) = (day.month(), day.day());
    (m == 1 && d == 1)
        || (m == 12 && d == 31)
        || (m == 4 && d == 30)
        || (m == 5 && d == 1)
        || is_midsummer_eve(day)
        || day.pred_opt().is_some_and(is_midsummer_eve)
}

/// Extra volume on party days.
fn party_factor(day: NaiveDate) -> f64 {
    let (m, d) = (day.month(), day.day());
    if m == 1 && d == 1 {
        1.9
    } else if is_party_day(day) {
        1.4
    } else {
        1.0
    }
}

/// A local Stockholm wall-clock time `second` seconds after midnight of `day`; a time
/// in the spring daylight-saving gap (which no clock shows) is moved an hour on.
pub(crate) fn local(day: NaiveDate, second: u32) -> NaiveDateTime {
    skip_gap(day.and_time(NaiveTime::MIN) + Duration::seconds(i64::from(second)))
}

/// A wall-clock time moved an hour on if it falls in the spring daylight-saving gap,
/// so that the order of wall-clock times is the order of instants.
pub(crate) fn skip_gap(t: NaiveDateTime) -> NaiveDateTime {
    if Stockholm.from_local_datetime(&t).earliest().is_none() {
        t + Duration::hours(1)
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn period_is_inclusive_and_handles_leap_days() {
        let p = Period::ending(d(2026, 11, 25), 3).expect("period");
        assert_eq!(p.start, d(2023, 11, 26));
        assert_eq!(p.days(), 1096);
        let leap = Period::ending(d(2024, 2, 29), 1).expect("period");
        assert_eq!(leap.start, d(2023, 3, 1));
    }

    #[test]
    fn spring_gap_times_are_moved_and_midsummer_is_found() {
        assert_eq!(
            local(d(2024, 3, 31), 2 * 3600 + 600).to_string(),
            "2024-03-31 03:10:00"
        );
        assert_eq!(
            local(d(2024, 10, 27), 2 * 3600 + 600).to_string(),
            "2024-10-27 02:10:00"
        );
        assert!(is_midsummer_eve(d(2024, 6, 21)) && !is_midsummer_eve(d(2024, 6, 22)));
    }

    #[test]
    fn day_factors_average_to_about_one_over_a_year() {
        let r = Rhythm {
            hours: &H_DAY,
            week: &W_WEEKEND,
            months: &M_BIKE,
            party: true,
        };
        let p = Period::ending(d(2024, 12, 31), 1).expect("period");
        let mean = p.each_day().map(|day| r.day_factor(day)).sum::<f64>() / p.days() as f64;
        assert!((mean - 1.0).abs() < 0.03, "{mean}");
    }
}
