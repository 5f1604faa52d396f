// Tokens and their claims, as a client could send them. The first byte picks what the rest is:
//   0: a token, verified by an HS256, an RS256 and an ES256 verifier;
//   1: a claims document, signed with the HS256 secret and then verified, so that the checks
//      behind the signature (types, exp, nbf, patterns) meet every shape of claims;
//   2: an Authorization header value and a request target, read for their token.
// Whatever the input, verification answers a caller or a refusal and never throws; a caller has
// a principal of 1 to 256 bytes and an expiry in the future; a subscription is never widened.
#include "gateway/permissions.hpp"
#include "gateway/token_verifier.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <jwt.h>
#include <memory>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace {

void require(bool holds) {
    if (!holds) {
        __builtin_trap();
    }
}

const std::string secret = "the fuzzer's HS256 secret, 32 bytes or more";

/// A fresh key pair's public half, as PEM.
std::string public_key_pem(EVP_PKEY* key) {
    const std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), &BIO_free};
    require(bio && PEM_write_bio_PUBKEY(bio.get(), key) == 1);
    char* data = nullptr;
    const auto length = BIO_get_mem_data(bio.get(), &data);
    return {data, static_cast<std::size_t>(length)};
}

gateway::token_verifier verifier_for(EVP_PKEY* key) {
    const std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> owned{key, &EVP_PKEY_free};
    require(owned != nullptr);
    return gateway::token_verifier::with_public_key(public_key_pem(owned.get()));
}

struct verifiers {
    gateway::token_verifier hs256 = gateway::token_verifier::with_secret(secret);
    gateway::token_verifier rs256 = verifier_for(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}));
    gateway::token_verifier es256 = verifier_for(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
};

const std::vector<std::string_view> known_names{"Allocate", "Allocated", "BatchCreated", "OutOfStock"};

void check(const gateway::token_verdict& verdict, std::chrono::system_clock::time_point now) {
    const auto* holder = std::get_if<gateway::caller>(&verdict);
    if (holder == nullptr) {
        require(!std::get<gateway::token_refusal>(verdict).message.empty());
        return;
    }
    require(!holder->principal.empty() && holder->principal.size() <= gateway::token_verifier::max_principal_bytes);
    require(holder->expires_at && *holder->expires_at > std::chrono::floor<std::chrono::seconds>(now));
    for (const auto& asked : {std::vector<std::string>{}, std::vector<std::string>{"Allocated", "Nope"}}) {
        const auto narrowed = holder->grants.narrow(asked, known_names);
        using verdict = gateway::narrowed_names::verdict;
        if (narrowed.answer == verdict::kept) {
            // Kept as asked: every name asked is allowed, and "every name" only when any name is.
            for (const auto& name : asked) {
                require(holder->grants.may_subscribe(name));
            }
            require(!asked.empty() || holder->grants.may_subscribe("\x01 a name nobody declared"));
        }
        for (const auto& name : narrowed.names) {
            require(holder->grants.may_subscribe(name));
            require(asked.empty() || std::ranges::find(asked, name) != asked.end());
        }
        require((narrowed.answer == verdict::narrowed) != narrowed.names.empty());
    }
}

/// `claims` signed HS256 with the secret, or empty when libjwt does not take them as claims.
std::string signed_claims(const std::string& claims) {
    jwt_t* raw = nullptr;
    if (jwt_new(&raw) != 0) {
        return {};
    }
    const std::unique_ptr<jwt_t, decltype(&jwt_free)> token{raw, &jwt_free};
    if (jwt_add_grants_json(token.get(), claims.c_str()) != 0 ||
        jwt_set_alg(token.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                    static_cast<int>(secret.size())) != 0) {
        return {};
    }
    const std::unique_ptr<char, decltype(&free)> text{jwt_encode_str(token.get()), &free};
    return text ? std::string{text.get()} : std::string{};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const verifiers keys;
    if (size == 0) {
        return 0;
    }
    const std::string_view rest{reinterpret_cast<const char*>(data) + 1, size - 1};
    const auto now = std::chrono::system_clock::now();
    switch (data[0] % 3) {
        case 0:
            check(keys.hs256.verify(rest, now), now);
            check(keys.rs256.verify(rest, now), now);
            check(keys.es256.verify(rest, now), now);
            break;
        case 1:
            if (const auto token = signed_claims(std::string{rest}); !token.empty()) {
                check(keys.hs256.verify(token, now), now);
            }
            break;
        default: {
            const auto split = std::min(rest.find('\n'), rest.size());
            const auto token = gateway::bearer_token(rest.substr(0, split));
            require(token.size() < split || token.empty());
            (void)gateway::query_token(rest.substr(std::min(split + 1, rest.size())));
            break;
        }
    }
    return 0;
}
