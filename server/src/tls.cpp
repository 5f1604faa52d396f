#include "tls.hpp"

#include <openssl/ssl.h>
#include <stdexcept>
#include <string>

namespace gateway {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_tls_context(const tls_files& files) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
    // TLS 1.2 at least: 1.0 and 1.1 are deprecated (RFC 8996).
    if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
        throw std::runtime_error{"TLS: cannot require TLS 1.2 or later"};
    }
    context->set_options(ssl::context::default_workarounds | ssl::context::single_dh_use);
    const auto load = [](std::string_view flag, const std::string& file, auto&& use) {
        boost::system::error_code ec;
        use(ec);
        if (ec) {
            throw std::runtime_error{std::string{flag} + " " + file + ": " + ec.message()};
        }
    };
    load("--tls-cert", files.certificate_chain,
         [&](boost::system::error_code& ec) { context->use_certificate_chain_file(files.certificate_chain, ec); });
    load("--tls-key", files.private_key, [&](boost::system::error_code& ec) {
        context->use_private_key_file(files.private_key, ssl::context::pem, ec);
    });
    if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
        throw std::runtime_error{"--tls-key " + files.private_key + ": does not match the certificate of --tls-cert " +
                                 files.certificate_chain};
    }
    return context;
}

}  // namespace gateway
