//! Seed 001's paging: `pageNumber` >= 1 (default 1) and `pageSize` 1..=100 (default 10). Lists answer
//! with a bare JSON array, as the product's list endpoints do, and carry the count in headers.

use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};

use crate::app::Paging;
use crate::http::body::QueryParams;

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

    /// `body` with `X-Page-Number` and `X-Page-Size`, and `X-Total-Count` and `X-Total-Pages` when the
    /// count is exact; past the count cap, `X-Total-Count-At-Least` instead.
    pub fn respond(&self, total: i64, total_is_exact: bool, body: impl IntoResponse) -> Response {
        let mut response = body.into_response();
        let headers = response.headers_mut();
        headers.insert("x-page-number", HeaderValue::from(self.number));
        headers.insert("x-page-size", HeaderValue::from(self.size));
        if total_is_exact {
            headers.insert("x-total-count", HeaderValue::from(total));
            headers.insert("x-total-pages", HeaderValue::from((total + self.size - 1) / self.size));
        } else {
            headers.insert("x-total-count-at-least", HeaderValue::from(total));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_counts_give_totals_and_capped_counts_say_at_least() {
        let page = PageRequest { number: 2, size: 10 };
        let exact = page.respond(25, true, "[]");
        assert_eq!(exact.headers()["x-total-count"], "25");
        assert_eq!(exact.headers()["x-total-pages"], "3");
        assert_eq!(exact.headers()["x-page-number"], "2");
        let capped = page.respond(10_000, false, "[]");
        assert_eq!(capped.headers().get("x-total-count"), None);
        assert_eq!(capped.headers()["x-total-count-at-least"], "10000");
    }
}
