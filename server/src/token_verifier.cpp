#include "gateway/token_verifier.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <jwt.h>
#include <memory>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <optional>
#include <stdexcept>

namespace gateway {
namespace {

using json = nlohmann::json;
using reason = token_refusal::reason;

struct jwt_deleter {
    void operator()(jwt_t* token) const noexcept { ::jwt_free(token); }
};
struct malloc_deleter {
    void operator()(char* text) const noexcept { std::free(text); }  // NOLINT(cppcoreguidelines-no-malloc)
};
struct bio_deleter {
    void operator()(BIO* bio) const noexcept { ::BIO_free(bio); }
};
struct pkey_deleter {
    void operator()(EVP_PKEY* key) const noexcept { ::EVP_PKEY_free(key); }
};

/// Claims are small (a token is at most 8 KiB), and may hold other issuers' claims too.
constexpr json_limits claim_limits{.max_depth = 8, .max_string_bytes = token_verifier::max_token_bytes};
/// Patterns per claim: each one is matched against every name a request names.
constexpr std::size_t max_patterns = 256;
/// The latest `exp` taken as it is (the end of year 9999); later ones are clamped to it.
constexpr std::int64_t latest_seconds = 253'402'300'799;

[[nodiscard]] token_refusal refuse(reason why, std::string message) {
    return {.why = why, .message = std::move(message)};
}

[[nodiscard]] constexpr bool is_base64url(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/// Three non-empty base64url parts: what libjwt is given. A signature is required (no "none").
[[nodiscard]] bool is_compact_jws(std::string_view token) noexcept {
    std::size_t dots = 0;
    char previous = '.';
    for (const char c : token) {
        if (c == '.') {
            if (previous == '.') {
                return false;
            }
            ++dots;
        } else if (!is_base64url(c)) {
            return false;
        }
        previous = c;
    }
    return dots == 2 && previous != '.';
}

[[nodiscard]] std::optional<token_algorithm> algorithm_of(jwt_alg_t algorithm) noexcept {
    switch (algorithm) {
        case JWT_ALG_HS256:
            return token_algorithm::hs256;
        case JWT_ALG_RS256:
            return token_algorithm::rs256;
        case JWT_ALG_ES256:
            return token_algorithm::es256;
        default:
            return std::nullopt;
    }
}

/// A claim's seconds since the epoch: an integer, clamped to [0, year 9999].
[[nodiscard]] std::optional<std::chrono::sys_seconds> seconds_of(const json& claim) {
    std::int64_t seconds = 0;
    if (claim.is_number_unsigned()) {
        seconds = static_cast<std::int64_t>(std::min<std::uint64_t>(claim.get<std::uint64_t>(), latest_seconds));
    } else if (claim.is_number_integer()) {
        seconds = std::clamp<std::int64_t>(claim.get<std::int64_t>(), 0, latest_seconds);
    } else {
        return std::nullopt;
    }
    return std::chrono::sys_seconds{std::chrono::seconds{seconds}};
}

/// A claim of name patterns: absent grants nothing; else an array of strings.
[[nodiscard]] std::optional<std::vector<std::string>> patterns_of(const json& claims, const char* name) {
    const auto it = claims.find(name);
    if (it == claims.end()) {
        return std::vector<std::string>{};
    }
    if (!it->is_array() || it->size() > max_patterns) {
        return std::nullopt;
    }
    std::vector<std::string> patterns;
    patterns.reserve(it->size());
    for (const auto& pattern : *it) {
        if (!pattern.is_string()) {
            return std::nullopt;
        }
        patterns.push_back(pattern.get<std::string>());
    }
    return patterns;
}

/// Whether the `aud` claim (a string, or an array of strings) names `audience`.
[[nodiscard]] bool names_audience(const json& claims, std::string_view audience) {
    const auto aud = claims.find("aud");
    if (aud == claims.end()) {
        return false;
    }
    if (aud->is_string()) {
        return aud->get_ref<const std::string&>() == audience;
    }
    return aud->is_array() && std::ranges::any_of(*aud, [audience](const json& entry) {
               return entry.is_string() && entry.get_ref<const std::string&>() == audience;
           });
}

/// The claims' `iss` and `aud` hold what the server expects (nothing, when it expects nothing).
[[nodiscard]] bool expected_parties(const json& claims, std::string_view issuer, std::string_view audience) {
    if (!issuer.empty()) {
        const auto iss = claims.find("iss");
        if (iss == claims.end() || !iss->is_string() || iss->get_ref<const std::string&>() != issuer) {
            return false;
        }
    }
    return audience.empty() || names_audience(claims, audience);
}

/// The caller the (verified) claims name, or why they do not hold at `now`.
[[nodiscard]] token_verdict caller_of(const json& claims, std::chrono::sys_seconds now, std::string_view issuer,
                                      std::string_view audience) {
    if (!claims.is_object()) {
        return refuse(reason::invalid_claims, "the token's claims are not a JSON object");
    }
    if (!expected_parties(claims, issuer, audience)) {
        return refuse(reason::invalid_claims, "the token is not issued by and for what this server expects (iss, aud)");
    }
    const auto sub = claims.find("sub");
    if (sub == claims.end() || !sub->is_string() || sub->get_ref<const std::string&>().empty() ||
        sub->get_ref<const std::string&>().size() > token_verifier::max_principal_bytes) {
        return refuse(reason::invalid_claims, "the token has no sub (a string of 1 to 256 bytes)");
    }
    const auto exp = claims.find("exp");
    const auto expires = exp == claims.end() ? std::nullopt : seconds_of(*exp);
    if (!expires) {
        return refuse(reason::invalid_claims, "the token has no exp (an integer, seconds since the epoch)");
    }
    if (now >= *expires) {
        return refuse(reason::expired, "the token expired");
    }
    if (const auto nbf = claims.find("nbf"); nbf != claims.end()) {
        const auto not_before = seconds_of(*nbf);
        if (!not_before) {
            return refuse(reason::invalid_claims, "nbf: not an integer");
        }
        if (now < *not_before) {
            return refuse(reason::not_yet_valid, "the token is not valid yet (nbf)");
        }
    }
    auto submit = patterns_of(claims, "cascade.submit");
    auto subscribe = patterns_of(claims, "cascade.subscribe");
    if (!submit || !subscribe) {
        return refuse(reason::invalid_claims,
                      "cascade.submit and cascade.subscribe must be arrays of name patterns (at most 256)");
    }
    return caller{.principal = sub->get<std::string>(),
                  .grants = permissions{std::move(*submit), std::move(*subscribe)},
                  .expires_at = expires};
}

[[nodiscard]] std::string read_file(const std::filesystem::path& file) {
    std::ifstream in{file, std::ios::binary};
    if (!in) {
        throw std::invalid_argument{file.string() + ": cannot be read"};
    }
    std::string text(token_verifier::max_key_file_bytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > token_verifier::max_key_file_bytes) {
        throw std::invalid_argument{file.string() + ": over 64 KiB, too long for a key"};
    }
    return text;
}

/// The algorithm a PEM public key verifies; std::invalid_argument when it is none we take.
[[nodiscard]] token_algorithm algorithm_of_key(const std::string& pem) {
    const std::unique_ptr<BIO, bio_deleter> bio{::BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
    const std::unique_ptr<EVP_PKEY, pkey_deleter> key{bio ? ::PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)
                                                          : nullptr};
    if (!key) {
        throw std::invalid_argument{"not a PEM public key (-----BEGIN PUBLIC KEY-----)"};
    }
    constexpr int min_rsa_bits = 2048;
    switch (::EVP_PKEY_get_base_id(key.get())) {
        case EVP_PKEY_RSA:
            if (::EVP_PKEY_get_bits(key.get()) < min_rsa_bits) {
                throw std::invalid_argument{"an RSA key for RS256 needs 2048 bits or more"};
            }
            return token_algorithm::rs256;
        case EVP_PKEY_EC: {
            std::array<char, 64> group{};
            std::size_t length = 0;
            if (::EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                                 &length) != 1 ||
                std::string_view{group.data(), length} != "prime256v1") {
                throw std::invalid_argument{"an EC key for ES256 must be on the P-256 curve (prime256v1)"};
            }
            return token_algorithm::es256;
        }
        default:
            throw std::invalid_argument{"the key is neither RSA (RS256) nor EC P-256 (ES256)"};
    }
}

}  // namespace

token_verifier token_verifier::with_secret(std::string secret) {
    if (secret.size() > max_key_file_bytes) {
        throw std::invalid_argument{"an HS256 secret of over 64 KiB is not one"};
    }
    if (secret.size() < min_secret_bytes) {
        throw std::invalid_argument{"an HS256 secret needs " + std::to_string(min_secret_bytes) +
                                    " bytes or more; this one has " + std::to_string(secret.size())};
    }
    return token_verifier{token_algorithm::hs256, std::move(secret)};
}

token_verifier token_verifier::with_public_key(std::string pem) {
    if (pem.size() > max_key_file_bytes) {
        throw std::invalid_argument{"a PEM public key of over 64 KiB is not one"};
    }
    const auto algorithm = algorithm_of_key(pem);
    return token_verifier{algorithm, std::move(pem)};
}

token_verifier token_verifier::with_secret_file(const std::filesystem::path& file) {
    try {
        return with_secret(read_file(file));
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument{file.string() + ": " + e.what()};
    }
}

token_verifier token_verifier::with_public_key_file(const std::filesystem::path& file) {
    try {
        return with_public_key(read_file(file));
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument{file.string() + ": " + e.what()};
    }
}

token_verdict token_verifier::verify(std::string_view token, std::chrono::system_clock::time_point now) const {
    if (token.empty()) {
        return refuse(reason::malformed, "no token");
    }
    if (token.size() > max_token_bytes || !is_compact_jws(token)) {
        // Checked before libjwt sees it: only what it is made for reaches it.
        return refuse(reason::malformed, "not a signed JWT (three base64url parts, at most 8 KiB)");
    }
    const std::string text{token};
    jwt_t* raw = nullptr;
    const int failed = ::jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key_.data()),
                                    static_cast<int>(key_.size()));
    const std::unique_ptr<jwt_t, jwt_deleter> decoded{raw};
    if (failed != 0 || !decoded) {
        return refuse(reason::bad_signature, "the token does not verify with this server's key");
    }
    if (algorithm_of(::jwt_get_alg(decoded.get())) != algorithm_) {
        return refuse(reason::bad_signature,
                      std::string{"the token is not signed "} + std::string{to_string(algorithm_)});
    }
    const std::unique_ptr<char, malloc_deleter> claims_text{::jwt_get_grants_json(decoded.get(), nullptr)};
    if (!claims_text) {
        return refuse(reason::invalid_claims, "the token has no claims");
    }
    const auto claims = parse_json(claims_text.get(), claim_limits);
    if (!claims) {
        return refuse(reason::invalid_claims, "the token's claims: " + claims.error);
    }
    return caller_of(*claims.document, std::chrono::floor<std::chrono::seconds>(now), issuer_, audience_);
}

std::string_view bearer_token(std::string_view authorization) noexcept {
    constexpr std::string_view scheme = "bearer ";
    if (authorization.size() <= scheme.size() ||
        !std::equal(scheme.begin(), scheme.end(), authorization.begin(), [](char a, char b) {
            return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b);
        })) {
        return {};
    }
    auto token = authorization.substr(scheme.size());
    token.remove_prefix(std::min(token.find_first_not_of(' '), token.size()));
    token = token.substr(0, token.find_last_not_of(' ') + 1);
    return token;
}

std::string query_token(std::string_view target) {
    const auto url = boost::urls::parse_origin_form(target);
    if (!url) {
        return {};
    }
    const auto params = url->params();
    const auto it = params.find("token");
    return it == params.end() ? std::string{} : std::string{(*it).value};
}

}  // namespace gateway
