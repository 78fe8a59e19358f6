//! Seed 001's paging: `pageNumber` >= 1 (default 1) and `pageSize` 1..=100 (default 10). Lists answer
//! with a bare JSON array, as the product's list endpoints do, and carry the count in headers.

use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};

use crate::contracts::body::QueryParams;
use crate::store::Paging;

/// Far beyond any real page, small enough that the offset cannot overflow.
const MAX_PAGE_NUMBER: i64 = 1_000_000_000;

pub struct PageRequest {
    pub number: i64,
    pub size: i64,
}

pub fn read(q: &mut QueryParams) -> PageRequest {
    PageRequest { number: q.integer("pageNumber", 1, MAX_PAGE_NUMBER, 1), size: q.integer("pageSize", 1, 100, 10) }
}

impl PageRequest {
    pub fn paging(&self) -> Paging {
        Paging { offset: (self.number - 1) * self.size, limit: self.size }
    }

    /// `body` with `X-Total-Count`, `X-Page-Number`, `X-Page-Size` and `X-Total-Pages` headers.
    pub fn respond(&self, total: i64, body: impl IntoResponse) -> Response {
        let mut response = body.into_response();
        let pages = (total + self.size - 1) / self.size;
        let headers = response.headers_mut();
        for (name, value) in [
            ("x-total-count", total),
            ("x-page-number", self.number),
            ("x-page-size", self.size),
            ("x-total-pages", pages),
        ] {
            headers.insert(name, HeaderValue::from(value));
        }
        response
    }
}
