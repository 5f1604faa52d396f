// The token verifier on its own: which tokens name a caller and which are refused, and which
// keys a server may be started with. Tokens are signed with libjwt, keys made with openssl.
#include "gateway/token_verifier.hpp"

#include "server_process.hpp"
#include "tokens.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace server_test;
using gateway::caller;
using gateway::token_algorithm;
using gateway::token_refusal;
using gateway::token_verifier;
using reason = token_refusal::reason;
using namespace std::chrono_literals;

namespace {

const auto now = std::chrono::system_clock::now();

/// The reason `token` is refused for, failing the test when it is accepted.
reason refusal_of(const token_verifier& verifier, const std::string& token) {
    const auto verdict = verifier.verify(token, now);
    const auto* refused = std::get_if<token_refusal>(&verdict);
    REQUIRE(refused != nullptr);
    CHECK_FALSE(refused->message.empty());
    return refused->why;
}

caller accepted(const gateway::token_verdict& verdict) {
    const auto* holder = std::get_if<caller>(&verdict);
    if (holder == nullptr) {
        FAIL("refused: " << std::get<token_refusal>(verdict).message);
    }
    return *holder;
}

/// base64url of `text`, for hand-made tokens that no issuer would sign.
std::string base64url(const std::string& text) {
    static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const unsigned char c : text) {
        buffer = (buffer << 8U) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += alphabet[(buffer >> static_cast<unsigned>(bits)) & 0x3FU];
        }
    }
    if (bits > 0) {
        out += alphabet[(buffer << static_cast<unsigned>(6 - bits)) & 0x3FU];
    }
    return out;
}

}  // namespace

TEST_CASE("a token signed with the server's secret names its caller and what it may do", "[auth]") {
    const auto verifier = token_verifier::with_secret(test_secret);
    CHECK(verifier.algorithm() == token_algorithm::hs256);
    const auto claims = claims_for("alice", 1h, {"Touch", "Create*"}, {"Touched"});
    const auto who = accepted(verifier.verify(mint(claims), now));
    CHECK(who.principal == "alice");
    REQUIRE(who.expires_at);
    CHECK(who.expires_at->time_since_epoch().count() == claims["exp"].get<std::int64_t>());
    CHECK(who.grants.may_submit("Touch"));
    CHECK(who.grants.may_submit("CreateBatch"));
    CHECK_FALSE(who.grants.may_submit("Refuse"));
    CHECK(who.grants.may_subscribe("Touched"));
    CHECK_FALSE(who.grants.may_subscribe("Broken"));
}

TEST_CASE("a token without cascade claims grants nothing, and an exp past year 9999 is clamped", "[auth]") {
    const auto verifier = token_verifier::with_secret(test_secret);
    const auto who =
        accepted(verifier.verify(mint({{"sub", "bob"}, {"exp", std::numeric_limits<std::int64_t>::max()}}), now));
    CHECK_FALSE(who.grants.may_submit("Touch"));
    CHECK_FALSE(who.grants.may_subscribe("Touched"));
    REQUIRE(who.expires_at);
    CHECK(who.expires_at->time_since_epoch().count() == 253'402'300'799);
}

TEST_CASE("tokens that do not verify or whose claims do not hold are refused, each with its reason", "[auth]") {
    const auto verifier = token_verifier::with_secret(test_secret);
    const auto good = claims_for("alice", 1h);

    SECTION("signed with another secret") {
        CHECK(refusal_of(verifier, mint(good, "HS256", test_secret + "!")) == reason::bad_signature);
    }
    SECTION("a signature changed by one character") {
        auto token = mint(good);
        // In the middle: the last character of a base64url signature may carry only padding bits.
        auto& changed = token[token.rfind('.') + 10];
        changed = changed == 'A' ? 'B' : 'A';
        CHECK(refusal_of(verifier, token) == reason::bad_signature);
    }
    SECTION("signed with the same secret, by another HMAC") {
        CHECK(refusal_of(verifier, mint(good, "HS384", test_secret)) == reason::bad_signature);
        CHECK(refusal_of(verifier, mint(good, "HS512", test_secret)) == reason::bad_signature);
    }
    SECTION("claims changed after signing") {
        const auto token = mint(good);
        const auto first = token.find('.');
        const auto second = token.find('.', first + 1);
        auto forged = good;
        forged["sub"] = "mallory";
        const auto tampered = token.substr(0, first + 1) + base64url(forged.dump()) + token.substr(second);
        CHECK(refusal_of(verifier, tampered) == reason::bad_signature);
    }
    SECTION("expired") {
        CHECK(refusal_of(verifier, mint(claims_for("alice", -1s))) == reason::expired);
    }
    SECTION("expiring this very second") {
        auto claims = good;
        claims["exp"] = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
        CHECK(refusal_of(verifier, mint(claims)) == reason::expired);
    }
    SECTION("not valid yet") {
        auto claims = good;
        claims["nbf"] = claims["exp"];
        CHECK(refusal_of(verifier, mint(claims)) == reason::not_yet_valid);
    }
    SECTION("no exp") {
        auto claims = good;
        claims.erase("exp");
        CHECK(refusal_of(verifier, mint(claims)) == reason::invalid_claims);
    }
    SECTION("an exp that is not an integer") {
        auto claims = good;
        claims["exp"] = 1e300;
        CHECK(refusal_of(verifier, mint(claims)) == reason::invalid_claims);
        claims["exp"] = "tomorrow";
        CHECK(refusal_of(verifier, mint(claims)) == reason::invalid_claims);
    }
    SECTION("no sub, an empty one, or one over 256 bytes") {
        auto claims = good;
        claims.erase("sub");
        CHECK(refusal_of(verifier, mint(claims)) == reason::invalid_claims);
        claims["sub"] = "";
        CHECK(refusal_of(verifier, mint(claims)) == reason::invalid_claims);
        claims["sub"] = 42;
        CHECK(refusal_of(verifier, mint(claims)) == reason::invalid_claims);
        claims["sub"] = std::string(257, 'a');
        CHECK(refusal_of(verifier, mint(claims)) == reason::invalid_claims);
    }
    SECTION("claims of patterns that are not arrays of strings") {
        auto claims = good;
        claims["cascade.submit"] = "*";
        CHECK(refusal_of(verifier, mint(claims)) == reason::invalid_claims);
        claims["cascade.submit"] = {"Touch", 7};
        CHECK(refusal_of(verifier, mint(claims)) == reason::invalid_claims);
        claims["cascade.submit"] = std::vector<std::string>(257, "Touch");
        CHECK(refusal_of(verifier, mint(claims)) == reason::invalid_claims);
    }
    SECTION("alg none, with the signature left out or not") {
        const auto unsigned_part = base64url(R"({"alg":"none","typ":"JWT"})") + "." + base64url(good.dump());
        CHECK(refusal_of(verifier, unsigned_part + ".") == reason::malformed);
        CHECK(refusal_of(verifier, unsigned_part + ".AAAA") == reason::bad_signature);
    }
    SECTION("not three base64url parts") {
        CHECK(refusal_of(verifier, "") == reason::malformed);
        CHECK(refusal_of(verifier, "abc") == reason::malformed);
        CHECK(refusal_of(verifier, "a.b") == reason::malformed);
        CHECK(refusal_of(verifier, "a..c") == reason::malformed);
        CHECK(refusal_of(verifier, "a.b.c.d") == reason::malformed);
        CHECK(refusal_of(verifier, "a.b.c=") == reason::malformed);
        CHECK(refusal_of(verifier, "a.b.\xc3\xa9") == reason::malformed);
        CHECK(refusal_of(verifier, std::string("a.b\0.c", 6)) == reason::malformed);
    }
    SECTION("over 8 KiB") {
        auto claims = good;
        claims["padding"] = std::string(8 * 1024, 'x');
        CHECK(refusal_of(verifier, mint(claims)) == reason::malformed);
    }
    SECTION("three base64url parts that are not JSON") {
        CHECK(refusal_of(verifier, base64url("{") + "." + base64url("[") + ".c2ln") == reason::bad_signature);
    }
}

TEST_CASE("an expected issuer and audience must be the token's iss and among its aud", "[auth]") {
    auto verifier = token_verifier::with_secret(test_secret);
    verifier.expect_issuer("https://idp.example");
    verifier.expect_audience("cascade");
    auto claims = claims_for("alice", 1h);
    CHECK(refusal_of(verifier, mint(claims)) == reason::invalid_claims);
    claims["iss"] = "https://idp.example";
    claims["aud"] = "cascade";
    CHECK(accepted(verifier.verify(mint(claims), now)).principal == "alice");
    claims["aud"] = {"billing", "cascade"};
    CHECK(accepted(verifier.verify(mint(claims), now)).principal == "alice");
    claims["aud"] = {"billing"};
    CHECK(refusal_of(verifier, mint(claims)) == reason::invalid_claims);
    claims["aud"] = "cascade";
    claims["iss"] = "https://other.example";
    CHECK(refusal_of(verifier, mint(claims)) == reason::invalid_claims);
}

TEST_CASE("a public key chooses RS256 or ES256, and a token signed otherwise is refused", "[auth]") {
    const temp_folder folder;
    const auto rsa = make_key_pair(folder.path(), "rsa");
    const auto ec = make_key_pair(folder.path(), "p256");
    const auto claims = claims_for("carol", 1h);

    const auto rs256 = token_verifier::with_public_key_file(rsa.public_file);
    CHECK(rs256.algorithm() == token_algorithm::rs256);
    CHECK(accepted(rs256.verify(mint(claims, "RS256", rsa.private_pem), now)).principal == "carol");

    const auto es256 = token_verifier::with_public_key(ec.public_pem);
    CHECK(es256.algorithm() == token_algorithm::es256);
    CHECK(accepted(es256.verify(mint(claims, "ES256", ec.private_pem), now)).principal == "carol");

    SECTION("HS256 with the public key as its secret (the key is public; libjwt alone accepts it)") {
        CHECK(refusal_of(rs256, mint(claims, "HS256", rsa.public_pem)) == reason::bad_signature);
        CHECK(refusal_of(es256, mint(claims, "HS256", ec.public_pem)) == reason::bad_signature);
    }
    SECTION("signed by the other key") {
        CHECK(refusal_of(rs256, mint(claims, "ES256", ec.private_pem)) == reason::bad_signature);
        CHECK(refusal_of(es256, mint(claims, "RS256", rsa.private_pem)) == reason::bad_signature);
    }
    SECTION("an HS256 server refuses RS256 tokens") {
        const auto hs256 = token_verifier::with_secret(test_secret);
        CHECK(refusal_of(hs256, mint(claims, "RS256", rsa.private_pem)) == reason::bad_signature);
    }
}

TEST_CASE("keys a server cannot use stop it at start with what is wrong", "[auth]") {
    const temp_folder folder;
    const auto message_of = [](auto&& load) {
        try {
            (void)load();
        } catch (const std::invalid_argument& e) {
            return std::string{e.what()};
        }
        return std::string{"accepted"};
    };
    CHECK_THAT(message_of([] { return token_verifier::with_secret("short"); }), Catch::Contains("32 bytes or more"));
    CHECK_THAT(message_of([&] { return token_verifier::with_secret_file(folder.path() + "/missing"); }),
               Catch::Contains("missing: cannot be read"));
    const auto rsa1024 = make_key_pair(folder.path(), "rsa1024");
    CHECK_THAT(message_of([&] { return token_verifier::with_public_key_file(rsa1024.public_file); }),
               Catch::Contains("2048 bits"));
    const auto p384 = make_key_pair(folder.path(), "p384");
    CHECK_THAT(message_of([&] { return token_verifier::with_public_key_file(p384.public_file); }),
               Catch::Contains("P-256"));
    // A private key where the public one belongs is not taken for it.
    CHECK_THAT(message_of([&] { return token_verifier::with_public_key_file(p384.private_file); }),
               Catch::Contains("not a PEM public key"));
    write_text(folder.path() + "/huge", std::string(token_verifier::max_key_file_bytes + 1, 'k'));
    CHECK_THAT(message_of([&] { return token_verifier::with_secret_file(folder.path() + "/huge"); }),
               Catch::Contains("over 64 KiB"));
    write_text(folder.path() + "/garbage", "not a key");
    CHECK_THAT(message_of([&] { return token_verifier::with_public_key_file(folder.path() + "/garbage"); }),
               Catch::Contains("garbage: not a PEM public key"));
}

TEST_CASE("a token is read from Authorization: Bearer or from the target's query", "[auth]") {
    using gateway::bearer_token;
    using gateway::query_token;
    CHECK(bearer_token("Bearer abc.def.ghi") == "abc.def.ghi");
    CHECK(bearer_token("bearer   abc.def.ghi  ") == "abc.def.ghi");
    CHECK(bearer_token("BEARER x") == "x");
    CHECK(bearer_token("Basic dXNlcjpwYXNz").empty());
    CHECK(bearer_token("Bearer").empty());
    CHECK(bearer_token("Bearer ").empty());
    CHECK(bearer_token("").empty());

    CHECK(query_token("/ws?token=abc.def.ghi") == "abc.def.ghi");
    CHECK(query_token("/ws?x=1&token=a%2Eb.c") == "a.b.c");
    CHECK(query_token("/ws?tokens=1").empty());
    CHECK(query_token("/ws").empty());
    CHECK(query_token("not a target").empty());
}
