#include "tokens.hpp"

#include <cstdlib>
#include <jwt.h>
#include <map>
#include <memory>
#include <stdexcept>

namespace server_test {
namespace {

struct jwt_deleter {
    void operator()(jwt_t* token) const noexcept { ::jwt_free(token); }
};
struct malloc_deleter {
    void operator()(char* text) const noexcept { std::free(text); }  // NOLINT(cppcoreguidelines-no-malloc)
};

[[nodiscard]] jwt_alg_t algorithm_of(const std::string& name) {
    static const std::map<std::string, jwt_alg_t> algorithms{{"HS256", JWT_ALG_HS256},
                                                             {"HS384", JWT_ALG_HS384},
                                                             {"HS512", JWT_ALG_HS512},
                                                             {"RS256", JWT_ALG_RS256},
                                                             {"ES256", JWT_ALG_ES256}};
    return algorithms.at(name);
}

void run(const std::string& command) {
    if (std::system((command + " 2>/dev/null").c_str()) != 0) {
        throw std::runtime_error{"failed: " + command + " (is Debian's openssl installed?)"};
    }
}

}  // namespace

nlohmann::json claims_for(const std::string& sub, std::chrono::seconds lifetime, const std::vector<std::string>& submit,
                          const std::vector<std::string>& subscribe) {
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    nlohmann::json claims{{"sub", sub}, {"exp", (now + lifetime).time_since_epoch().count()}};
    if (!submit.empty()) {
        claims["cascade.submit"] = submit;
    }
    if (!subscribe.empty()) {
        claims["cascade.subscribe"] = subscribe;
    }
    return claims;
}

std::string mint(const nlohmann::json& claims, const std::string& algorithm, const std::string& key) {
    jwt_t* raw = nullptr;
    if (::jwt_new(&raw) != 0) {
        throw std::runtime_error{"jwt_new failed"};
    }
    const std::unique_ptr<jwt_t, jwt_deleter> token{raw};
    if (::jwt_add_grants_json(token.get(), claims.dump().c_str()) != 0 ||
        ::jwt_set_alg(token.get(), algorithm_of(algorithm), reinterpret_cast<const unsigned char*>(key.data()),
                      static_cast<int>(key.size())) != 0) {
        throw std::runtime_error{"libjwt refused the claims or the key"};
    }
    const std::unique_ptr<char, malloc_deleter> text{::jwt_encode_str(token.get())};
    if (!text) {
        throw std::runtime_error{"libjwt could not sign"};
    }
    return text.get();
}

std::string mint(const nlohmann::json& claims) {
    return mint(claims, "HS256", test_secret);
}

key_pair make_key_pair(const std::string& folder, const std::string& kind) {
    key_pair keys{.private_file = folder + "/" + kind + ".key",
                  .public_file = folder + "/" + kind + ".pub",
                  .private_pem = {},
                  .public_pem = {}};
    if (kind == "rsa" || kind == "rsa1024") {
        run("openssl genrsa -out " + keys.private_file + (kind == "rsa" ? " 2048" : " 1024"));
        run("openssl rsa -in " + keys.private_file + " -pubout -out " + keys.public_file);
    } else {
        run("openssl ecparam -name " + std::string{kind == "p256" ? "prime256v1" : "secp384r1"} +
            " -genkey -noout -out " + keys.private_file);
        run("openssl ec -in " + keys.private_file + " -pubout -out " + keys.public_file);
    }
    keys.private_pem = read_text(keys.private_file);
    keys.public_pem = read_text(keys.public_file);
    return keys;
}

}  // namespace server_test
