//! Cursor pagination: `?limit=` (default 50, max 200) and an opaque `?cursor=`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
pub const MAX_LIMIT: i64 = 200;

/// The paging part of a list query.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageQuery {
    /// Page size.
    pub limit: Option<String>,
    /// Where the previous page ended.
    pub cursor: Option<String>,
}

/// A validated page request over a list ordered by id.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// Rows to return.
    pub limit: i64,
    /// Return rows after this id.
    pub after: Option<Uuid>,
}

impl PageQuery {
    /// Validates the query.
    ///
    /// # Errors
    /// `422` for a limit outside 1..=200 or a cursor this API did not issue.
    pub fn parse(&self) -> Result<PageRequest, ApiError> {
        let limit = match &self.limit {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "limit",
                        format!("must be a whole number from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };
        let after = match &self.cursor {
            None => None,
            Some(raw) if raw.is_empty() => None,
            Some(raw) => Some(decode_cursor(raw).ok_or_else(|| {
                ApiError::invalid("cursor", "is not a cursor returned by this API")
            })?),
        };
        Ok(PageRequest { limit, after })
    }
}

/// A validated page request over a log listed newest first by its number
/// (the integration log, webhook deliveries): the cursor is the last
/// number shown, and the next page is what comes before it.
#[derive(Debug, Clone, Copy)]
pub struct NewestFirst {
    /// Rows to return.
    pub limit: i64,
    /// Return rows numbered below this.
    pub before: Option<i64>,
}

impl NewestFirst {
    /// Validates `?limit=` as [`PageQuery`] does and `?cursor=` as a number.
    ///
    /// # Errors
    /// `422` for a limit outside 1..=200 or a cursor this API did not issue.
    pub fn parse(limit: Option<String>, cursor: Option<String>) -> Result<Self, ApiError> {
        let limit = PageQuery {
            limit,
            cursor: None,
        }
        .parse()?
        .limit;
        let before = cursor
            .filter(|c| !c.is_empty())
            .map(|c| c.parse::<i64>())
            .transpose()
            .map_err(|_| ApiError::invalid("cursor", "is not a cursor returned by this API"))?;
        Ok(Self { limit, before })
    }

    /// The page of `rows` (read with [`NewestFirst::fetch`] rows, one more
    /// than shown) and the cursor of the next, if there is one.
    pub fn page<T>(&self, mut rows: Vec<T>, number: impl Fn(&T) -> i64) -> NumberedPage<T> {
        let next_cursor = if rows.len() as i64 > self.limit {
            rows.truncate(self.limit as usize);
            rows.last().map(|row| number(row).to_string())
        } else {
            None
        };
        NumberedPage {
            items: rows,
            next_cursor,
        }
    }

    /// How many rows to read: one more than shown, to know if more follow.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }
}

/// A page of a log listed newest first.
#[derive(Debug, Serialize)]
pub struct NumberedPage<T> {
    /// The rows.
    pub items: Vec<T>,
    /// The last row's number, to pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

fn decode_cursor(raw: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    Uuid::from_slice(&bytes).ok()
}

fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// A page of results.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page from rows fetched with `limit + 1`: the extra row only tells
    /// whether there is a next page.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        request: PageRequest,
        id: impl Fn(&R) -> Uuid,
        view: impl Fn(R) -> T,
    ) -> Self {
        let more = rows.len() as i64 > request.limit;
        rows.truncate(request.limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| encode_cursor(id(r)))
        } else {
            None
        };
        Self {
            items: rows.into_iter().map(view).collect(),
            next_cursor,
        }
    }
}
