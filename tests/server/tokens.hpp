#pragma once
// Tokens for the auth tests, signed as an issuer would sign them (libjwt), and keys made with
// Debian's openssl at run time.

#include "server_process.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace server_test {

/// A secret of the length HS256 asks for.
inline const std::string test_secret = "a secret of thirty-two bytes, at least";

/// The claims of a token for `sub` that expires `lifetime` from now, granting `submit` and
/// `subscribe` (left out when empty).
[[nodiscard]] nlohmann::json claims_for(const std::string& sub, std::chrono::seconds lifetime,
                                        const std::vector<std::string>& submit = {"*"},
                                        const std::vector<std::string>& subscribe = {"*"});

/// `claims` signed with `algorithm` ("HS256", "HS384", "HS512", "RS256", "ES256") and `key`: the secret, or a PEM
/// private key. Throws std::runtime_error when libjwt cannot sign.
[[nodiscard]] std::string mint(const nlohmann::json& claims, const std::string& algorithm, const std::string& key);

/// `claims` signed HS256 with test_secret.
[[nodiscard]] std::string mint(const nlohmann::json& claims);

/// A key pair made with openssl in `folder`: files and their PEM text.
struct key_pair {
    std::string private_file;
    std::string public_file;
    std::string private_pem;
    std::string public_pem;
};

/// `kind`: "rsa" (2048 bits), "rsa1024", "p256" or "p384".
[[nodiscard]] key_pair make_key_pair(const std::string& folder, const std::string& kind);

}  // namespace server_test
