//! The business date. Time-driven rules (due dates, lapses, expiry) read it
//! from a clock that tests replace, so a test moves time instead of sleeping.

use std::sync::{Arc, Mutex};

use chrono::{FixedOffset, NaiveDate, Utc};

/// Where today's business date comes from.
pub trait Clock: Send + Sync + 'static {
    /// Today, in the business's time zone.
    fn today(&self) -> NaiveDate;
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
}

/// A clock that stays on the date it is set to (tests, demos).
#[derive(Debug, Clone)]
pub struct FixedClock {
    date: Arc<Mutex<NaiveDate>>,
}

impl FixedClock {
    /// A clock showing `date`.
    pub fn new(date: NaiveDate) -> Self {
        Self {
            date: Arc::new(Mutex::new(date)),
        }
    }

    /// Moves the clock to `date`.
    pub fn set(&self, date: NaiveDate) {
        *self.date.lock().unwrap_or_else(|e| e.into_inner()) = date;
    }
}

impl Clock for FixedClock {
    fn today(&self) -> NaiveDate {
        *self.date.lock().unwrap_or_else(|e| e.into_inner())
    }
}
