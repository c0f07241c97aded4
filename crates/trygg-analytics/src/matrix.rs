//! The hour (0-23) × weekday (Monday-Sunday) matrix of a selection in Stockholm
//! local time: when in the week things happen, optionally within one area.

use serde::Serialize;
use trygg_model::TimePrecision;
use trygg_store::EventView;

use crate::areas::{AreaLayer, Assignment};
use crate::selection::{LocalClock, Selection};

/// Weekday labels in the matrix's column order.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Counts by local hour and weekday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HourWeekdayMatrix {
    /// The selection counted.
    pub selection: Selection,
    /// The layer and area code the count was restricted to, if any.
    pub area: Option<(String, String)>,
    /// `counts[hour][weekday]`, weekday 0 = Monday.
    pub counts: [[u64; 7]; 24],
    /// Row sums: per hour.
    pub by_hour: [u64; 24],
    /// Column sums: per weekday.
    pub by_weekday: [u64; 7],
    /// All counted events.
    pub total: u64,
    /// Matching events left out because their time of day is not known (date-only
    /// times and long intervals): a date is not an event at midnight.
    pub left_out_imprecise_time: u64,
    /// Column labels.
    pub weekdays: [&'static str; 7],
}

/// The hour × weekday matrix of the events matching `selection`, within area
/// `area` (index into the layer's areas) of `layer` when given, by that layer's
/// precision rules.
pub fn hour_weekday(
    view: &EventView,
    selection: &Selection,
    area: Option<(&AreaLayer, usize)>,
) -> HourWeekdayMatrix {
    let mut counts = [[0u64; 7]; 24];
    let mut clock = LocalClock::new();
    let bound = area.map(|(layer, k)| (layer.bind(view), k));
    let mut left_out = 0u64;
    let mut matcher = selection.matcher();
    matcher.for_each(view, 0..view.len(), |i| {
        if let Some((b, k)) = &bound {
            if b.assign(i) != Assignment::Area(*k) {
                return;
            }
        }
        if view.time_precision(i) != TimePrecision::Exact {
            left_out += 1;
            return;
        }
        let local = clock.local(view.time(i));
        if let Some(cell) = counts
            .get_mut(local.hour as usize)
            .and_then(|row| row.get_mut(local.weekday as usize))
        {
            *cell += 1;
        }
    });
    let mut by_hour = [0u64; 24];
    let mut by_weekday = [0u64; 7];
    for (h, row) in counts.iter().enumerate() {
        for (d, &c) in row.iter().enumerate() {
            by_hour[h] += c;
            by_weekday[d] += c;
        }
    }
    HourWeekdayMatrix {
        selection: selection.clone(),
        area: area.and_then(|(layer, k)| {
            layer
                .areas()
                .get(k)
                .map(|a| (layer.name().to_owned(), a.code.clone()))
        }),
        counts,
        by_hour,
        by_weekday,
        total: by_hour.iter().sum(),
        left_out_imprecise_time: left_out + matcher.left_out(),
        weekdays: WEEKDAYS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Datelike, Timelike};
    use chrono_tz::Europe::Stockholm;
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64;
    use trygg_model::{NormCategory, Precision, Source};
    use trygg_store::EventViewBuilder;

    #[test]
    fn regression_date_only_times_do_not_fill_midnight() {
        // 2024-03-05 00:00 and 21:30 Stockholm time (UTC+1).
        let midnight = 1_709_593_200;
        let mut b = EventViewBuilder::new((600_000.0, 6_500_000.0));
        let event = |t, to, time_precision| trygg_store::ViewEvent {
            t,
            to,
            time_precision,
            x: 670_000.0,
            y: 6_580_000.0,
            source: Source::Crimes,
            category_norm: NormCategory::Burglary,
            precision: Precision::Exact,
            category: "Inbrott",
            stadsdel: None,
        };
        for _ in 0..3 {
            b.push_event(&event(midnight, None, TimePrecision::Date));
        }
        b.push_event(&event(
            midnight + 79_200,
            Some(midnight + 100_000),
            TimePrecision::Interval,
        ));
        b.push_event(&event(midnight + 77_400, None, TimePrecision::Exact));
        let view = b.build();
        let m = hour_weekday(&view, &Selection::all(), None);
        assert_eq!(m.total, 1, "only the exact time is placed in the week");
        assert_eq!(m.counts[21][1], 1, "Tuesday 21:30");
        assert_eq!(m.by_hour[0], 0, "nothing invented at midnight");
        assert_eq!(m.left_out_imprecise_time, 4);
        // An hour filter leaves them out too, and says so.
        let night = Selection {
            hours: Some("0-24".parse().expect("valid")),
            ..Selection::all()
        };
        let mut matcher = night.matcher();
        let mut n = 0;
        matcher.for_each(&view, 0..view.len(), |_| n += 1);
        assert_eq!(
            (n, matcher.left_out()),
            (5, 0),
            "a full day filters nothing"
        );
        let evening = Selection {
            hours: Some("18-24".parse().expect("valid")),
            ..Selection::all()
        };
        let (hits, left_out) = evening.indices_and_left_out(&view);
        assert_eq!((hits.len(), left_out), (1, 4));
        // Without an hour filter every event counts.
        assert_eq!(Selection::all().count(&view), 5);
    }

    #[test]
    fn matrix_agrees_with_chrono_tz() {
        let mut rng = Pcg64::seed_from_u64(9);
        let mut b = EventViewBuilder::new((600_000.0, 6_500_000.0));
        // Two years around DST switches, plus the switch instants themselves.
        let from = 1_672_531_200; // 2023-01-01
        let mut times: Vec<i64> = (0..30_000)
            .map(|_| rng.random_range(from..from + 2 * 365 * 86_400))
            .collect();
        times.extend([1_711_846_799, 1_711_846_800, 1_729_990_799, 1_729_990_800]);
        for &t in &times {
            let stadsdel = if rng.random_bool(0.5) {
                Some("A")
            } else {
                Some("B")
            };
            b.push(
                t,
                670_000.0,
                6_580_000.0,
                Source::Crimes,
                NormCategory::Theft,
                Precision::Stadsdel,
                "x",
                stadsdel,
            );
        }
        let view = b.build();
        let m = hour_weekday(&view, &Selection::all(), None);
        let mut expected = [[0u64; 7]; 24];
        for i in 0..view.len() {
            let local = DateTime::from_timestamp(view.time(i), 0)
                .expect("in range")
                .with_timezone(&Stockholm);
            expected[local.hour() as usize][local.weekday().num_days_from_monday() as usize] += 1;
        }
        assert_eq!(m.counts, expected);
        assert_eq!(m.total, view.len() as u64);
        assert_eq!(m.by_weekday.iter().sum::<u64>(), m.total);
        assert!(m.area.is_none());

        // Restricted to stadsdel A.
        let sd = crate::areas::tests::stadsdelar();
        let layer = AreaLayer::stadsdel(&sd);
        let in_a = hour_weekday(&view, &Selection::all(), Some((&layer, 0)));
        let n_a = (0..view.len())
            .filter(|&i| view.stadsdel_names()[usize::from(view.stadsdel_code(i))] == "A")
            .count() as u64;
        assert_eq!(in_a.total, n_a);
        assert_eq!(in_a.area, Some(("stadsdel".to_owned(), "A".to_owned())));
        // An hour filter empties the other rows.
        let night = Selection {
            hours: Some("22-04".parse().expect("valid")),
            ..Selection::default()
        };
        let m = hour_weekday(&view, &night, None);
        assert!(m.by_hour[4..22].iter().all(|&c| c == 0));
        assert_eq!(m.by_hour[22], expected[22].iter().sum::<u64>());
    }
}
