#pragma once
// Checks the JSON Web Tokens clients present (RFC 7519, compact JWS): the signature with the
// server's one key, through libjwt, then the claims cascade relies on, read and typed here.
//
// The key decides the one algorithm a token may name: a secret means HS256, an RSA public key
// RS256, a P-256 public key ES256. libjwt verifies with whatever algorithm the token's header
// names, so a token signed HS256 with the public key (a file anyone may read) as its secret
// verifies there; comparing the header's algorithm with the key's is what refuses it.
//
// Claims: `sub` (a non-empty string: the principal), `exp` (required: seconds since the epoch),
// `nbf` (optional), and what the holder may do: `cascade.submit` and `cascade.subscribe`, arrays
// of name patterns (permissions.hpp). A claim left out grants nothing. When the server expects an
// issuer or an audience (an identity provider's key signs tokens for many services), `iss` must
// be it and `aud` must name it.

#include "gateway/caller.hpp"
#include "gateway/json_parse.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>

namespace gateway {

enum class token_algorithm : std::uint8_t { hs256, rs256, es256 };

[[nodiscard]] constexpr std::string_view to_string(token_algorithm algorithm) noexcept {
    switch (algorithm) {
        case token_algorithm::hs256:
            return "HS256";
        case token_algorithm::rs256:
            return "RS256";
        case token_algorithm::es256:
            return "ES256";
    }
    return "HS256";
}

/// Why a token is not accepted; `message` says it for the client.
struct token_refusal {
    enum class reason : std::uint8_t {
        malformed,       ///< not a compact JWS, or too long
        bad_signature,   ///< not signed with the server's key and algorithm
        expired,         ///< past its `exp`
        not_yet_valid,   ///< before its `nbf`
        invalid_claims,  ///< a claim missing, of the wrong type, or not the issuer or audience expected
    };
    reason why = reason::malformed;
    std::string message;
};

/// A verified token's holder, or why the token is refused.
using token_verdict = std::variant<caller, token_refusal>;

class token_verifier {
public:
    /// Longest token accepted (it travels in a header of at most 8 KiB by default).
    static constexpr std::size_t max_token_bytes = 8 * 1024;
    /// Shortest HS256 secret accepted: as long as the hash (RFC 7518, section 3.2).
    static constexpr std::size_t min_secret_bytes = 32;
    /// Longest `sub` accepted: it is recorded on every envelope of the holder's cascades.
    static constexpr std::size_t max_principal_bytes = 256;

    /// HS256 with `secret` (its bytes, exactly); std::invalid_argument when it is too short.
    [[nodiscard]] static token_verifier with_secret(std::string secret);
    /// RS256 or ES256, as the PEM public key is RSA (2048 bits or more) or P-256;
    /// std::invalid_argument naming what is wrong with it.
    [[nodiscard]] static token_verifier with_public_key(std::string pem);
    /// The same from files; std::invalid_argument naming the file and the problem.
    [[nodiscard]] static token_verifier with_secret_file(const std::filesystem::path& file);
    [[nodiscard]] static token_verifier with_public_key_file(const std::filesystem::path& file);

    /// Longest key file read: a PEM key or a secret is a few KiB at most.
    static constexpr std::size_t max_key_file_bytes = 64 * 1024;

    [[nodiscard]] token_algorithm algorithm() const noexcept { return algorithm_; }

    /// From now on a token's `iss` must be `issuer`; empty: not checked (the default).
    void expect_issuer(std::string issuer) { issuer_ = std::move(issuer); }
    /// From now on a token's `aud` (a string, or an array of strings) must name `audience`; empty:
    /// not checked (the default).
    void expect_audience(std::string audience) { audience_ = std::move(audience); }

    /// The caller `token` names, if it verifies and its claims hold at `now`.
    [[nodiscard]] token_verdict verify(std::string_view token, std::chrono::system_clock::time_point now) const;

private:
    token_verifier(token_algorithm algorithm, std::string key) noexcept : algorithm_{algorithm}, key_{std::move(key)} {}

    token_algorithm algorithm_;
    std::string key_;  ///< the secret, or the public key's PEM (what libjwt verifies with)
    std::string issuer_;
    std::string audience_;
};

/// The token of an `Authorization: Bearer <token>` header value; empty when it has none.
[[nodiscard]] std::string_view bearer_token(std::string_view authorization) noexcept;
/// The `token` parameter of a request target's query (`/ws?token=...`), percent-decoded; empty
/// when it has none or the target does not parse.
[[nodiscard]] std::string query_token(std::string_view target);

}  // namespace gateway
