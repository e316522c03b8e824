//! The business date. Time-driven rules (due dates, lapses, expiry) read it
//! from a clock that tests replace, so a test moves time instead of sleeping.

use std::sync::{Arc, Mutex};

use chrono::{FixedOffset, NaiveDate, Utc};

/// Where today's business date comes from.
pub trait Clock: Send + Sync + 'static {
    /// Today, in the business's time zone.
    fn today(&self) -> NaiveDate;

    /// Whether this is the calendar at the configured offset (not a clock a
    /// test or the demo sets): such a clock follows the offset saved in the
    /// general settings ([`crate::live_settings::FollowingClock`]).
    fn is_calendar(&self) -> bool {
        false
    }
}

/// The real date at a fixed UTC offset (East Africa Time, +03:00, by default).
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    offset: FixedOffset,
}

impl SystemClock {
    /// The date at `offset_minutes` east of UTC.
    pub fn with_offset_minutes(offset_minutes: i32) -> Self {
        let offset = FixedOffset::east_opt(offset_minutes * 60)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC is a valid offset"));
        Self { offset }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::with_offset_minutes(180)
    }
}

impl Clock for SystemClock {
    fn today(&self) -> NaiveDate {
        Utc::now().with_timezone(&self.offset).date_naive()
    }

    fn is_calendar(&self) -> bool {
        true
    }
}

/// A clock that shows the date it is set to, until told to follow the real
/// date: tests move it instead of sleeping, and the demo replays a year of
/// business before handing over to the calendar.
#[derive(Debug, Clone)]
pub struct SettableClock {
    date: Arc<Mutex<Option<NaiveDate>>>,
    system: SystemClock,
}

impl SettableClock {
    /// A clock showing `date`.
    pub fn at(date: NaiveDate) -> Self {
        Self {
            date: Arc::new(Mutex::new(Some(date))),
            system: SystemClock::default(),
        }
    }

    /// Moves the clock to `date`.
    pub fn set(&self, date: NaiveDate) {
        *self.date.lock().unwrap_or_else(|e| e.into_inner()) = Some(date);
    }

    /// From now on, shows the real date (East Africa Time).
    pub fn follow_system(&self) {
        *self.date.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl Clock for SettableClock {
    fn today(&self) -> NaiveDate {
        let fixed = *self.date.lock().unwrap_or_else(|e| e.into_inner());
        fixed.unwrap_or_else(|| self.system.today())
    }
}
