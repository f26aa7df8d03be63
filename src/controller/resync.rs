//! When settled objects are looked at again for drift. Objects created in one
//! wave would otherwise come back in one wave, every resync interval; here each
//! takes the least booked moment between half and one and a half intervals
//! ahead, so the AWS calls of a resync are spread evenly over the interval.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When the next drift check may fall, counted from now: the part of the
/// usual half-to-one-and-a-half intervals after the last check still ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckWindow {
    pub earliest: Duration,
    pub latest: Duration,
}

impl CheckWindow {
    /// The window of an object checked `since` ago, as every resync books it.
    pub fn after_check(since: Duration, interval: Duration) -> Self {
        Self { earliest: (interval / 2).saturating_sub(since), latest: (interval * 3 / 2).saturating_sub(since) }
    }
}

/// Buckets per interval: fine enough to spread, small enough to scan per reconcile.
const BUCKETS_PER_INTERVAL: u32 = 600;

/// The least booked bucket among `counts`, the first of them on a tie.
pub fn least_booked(counts: impl IntoIterator<Item = u32>) -> Option<usize> {
    counts.into_iter().enumerate().min_by_key(|&(index, count)| (count, index)).map(|(index, _)| index)
}

struct Book {
    /// Bucket number of `counts[0]`, counted from `ResyncSchedule::epoch`.
    first: u64,
    counts: VecDeque<u32>,
}

pub struct ResyncSchedule {
    interval: Duration,
    bucket: Duration,
    epoch: Instant,
    book: Mutex<Book>,
}

impl ResyncSchedule {
    pub fn new(interval: Duration) -> Self {
        let bucket = (interval / BUCKETS_PER_INTERVAL).max(Duration::from_millis(100));
        let book = Book { first: 0, counts: VecDeque::new() };
        Self { interval, bucket, epoch: Instant::now(), book: Mutex::new(book) }
    }

    /// Books the next resync of one object just checked and returns how long until it.
    pub fn next_delay(&self) -> Duration {
        self.next_delay_at(Instant::now())
    }

    /// Books the next resync of an object within `window` from now (one
    /// checked a while ago, by an earlier process) and returns how long until it.
    pub fn delay_within(&self, window: CheckWindow) -> Duration {
        self.book(Instant::now(), window)
    }

    fn next_delay_at(&self, now: Instant) -> Duration {
        self.book(now, CheckWindow::after_check(Duration::ZERO, self.interval))
    }

    fn book(&self, now: Instant, window: CheckWindow) -> Duration {
        let bucket_nanos = self.bucket.as_nanos().max(1);
        let bucket_of = |offset: Duration| (offset.as_nanos() / bucket_nanos) as u64;
        let current = bucket_of(now.duration_since(self.epoch));
        // From the first bucket that starts no sooner than the window does.
        let earliest = current + bucket_of(window.earliest) + 1;
        let latest = (current + bucket_of(window.latest)).max(earliest);
        let mut book = self.book.lock().expect("never poisoned");
        // Buckets in the past are done with.
        while book.first < current && book.counts.pop_front().is_some() {
            book.first += 1;
        }
        book.first = book.first.max(current);
        let needed = (latest - book.first + 1) as usize;
        if book.counts.len() < needed {
            book.counts.resize(needed, 0);
        }
        let window = (earliest - book.first) as usize..=(latest - book.first) as usize;
        let offset = least_booked(book.counts.range(window.clone()).copied()).unwrap_or_default();
        let chosen = window.start() + offset;
        book.counts[chosen] += 1;
        let starts = self.epoch + self.bucket.mul_f64((book.first + chosen as u64) as f64);
        starts.saturating_duration_since(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_booked_bucket_wins_and_the_earliest_on_a_tie() {
        let cases: [(&[u32], Option<usize>); 4] =
            [(&[], None), (&[3, 1, 2], Some(1)), (&[2, 0, 0, 1], Some(1)), (&[0, 0], Some(0))];
        for (counts, want) in cases {
            assert_eq!(least_booked(counts.iter().copied()), want, "{counts:?}");
        }
    }

    #[test]
    fn a_tiny_interval_still_books_a_moment_ahead() {
        let schedule = ResyncSchedule::new(Duration::from_millis(10));
        for _ in 0..3 {
            assert!(schedule.next_delay() <= Duration::from_millis(200));
        }
    }

    #[test]
    fn a_wave_of_objects_is_spread_evenly_between_half_and_one_and_a_half_intervals() {
        let interval = Duration::from_secs(600);
        let schedule = ResyncSchedule::new(interval);
        let start = schedule.epoch;
        let mut per_second = vec![0u32; 1000];
        // 5,000 objects settle within 60 s of each other.
        for n in 0..5000u32 {
            let now = start + Duration::from_millis(u64::from(n) * 12);
            let delay = schedule.next_delay_at(now);
            assert!(delay >= interval / 2 && delay <= interval * 3 / 2, "{delay:?}");
            per_second[(now + delay).duration_since(start).as_secs() as usize] += 1;
        }
        let busiest = *per_second.iter().max().unwrap();
        let mean = 5000.0 / interval.as_secs_f64();
        assert!(f64::from(busiest) <= 2.0 * mean, "busiest second {busiest}, mean {mean:.1}");
    }

    #[test]
    fn a_restart_books_each_settled_object_within_its_window_and_spreads_them() {
        let interval = Duration::from_secs(600);
        let schedule = ResyncSchedule::new(interval);
        let start = schedule.epoch;
        let mut per_second = vec![0u32; 1000];
        // 5,000 objects, last checked evenly over the interval before the restart, booked at once.
        for n in 0..5000u64 {
            let since = Duration::from_millis(n * 120);
            let window = CheckWindow::after_check(since, interval);
            let delay = schedule.book(start, window);
            let bucket = schedule.bucket;
            assert!(delay + bucket >= window.earliest && delay <= window.latest, "{delay:?} outside {window:?}");
            per_second[delay.as_secs() as usize] += 1;
        }
        let busiest = *per_second.iter().max().unwrap();
        let mean = 5000.0 / interval.as_secs_f64();
        assert!(f64::from(busiest) <= 2.0 * mean, "busiest second {busiest}, mean {mean:.1}");
    }
}
