#include "token_bucket.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using gateway::token_bucket;
using namespace std::chrono_literals;

TEST_CASE("a token bucket gives its burst at once, then one token per 1/rate", "[server][limits]") {
    const token_bucket::clock::time_point t0{};
    token_bucket bucket{2.0, 2.0, t0};  // two a second, two saved
    CHECK(bucket.take(t0) == 0ns);
    CHECK(bucket.take(t0) == 0ns);
    CHECK(bucket.take(t0) == 500ms);  // empty: the next token in half a second
    CHECK(bucket.take(t0 + 250ms) == 250ms);
    CHECK(bucket.take(t0 + 500ms) == 0ns);
    // A long pause saves no more than the burst.
    CHECK(bucket.take(t0 + 60s) == 0ns);
    CHECK(bucket.take(t0 + 60s) == 0ns);
    CHECK(bucket.take(t0 + 60s) > 0ns);
}

TEST_CASE("a token bucket with rate 0 never limits", "[server][limits]") {
    token_bucket bucket{0.0, 1.0};
    for (int i = 0; i < 1000; ++i) {
        CHECK(bucket.take() == 0ns);
    }
}

TEST_CASE("a token bucket makes sense of nonsense: no rate, a burst under 1, a rate near 0", "[server][limits]") {
    const token_bucket::clock::time_point t0{};
    token_bucket nan_rate{std::nan(""), 1.0, t0};
    CHECK(nan_rate.take(t0) == 0ns);
    CHECK(nan_rate.take(t0) == 0ns);  // not a number: no limit
    token_bucket nan_burst{1.0, std::nan(""), t0};
    CHECK(nan_burst.take(t0) == 0ns);  // a burst of one
    CHECK(nan_burst.take(t0) == 1s);
    token_bucket tiny{1e-300, 1.0, t0};
    CHECK(tiny.take(t0) == 0ns);
    CHECK(tiny.take(t0) == 1h);  // capped, not overflowed
}
