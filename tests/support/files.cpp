#include "files.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace test_support {

temp_folder::temp_folder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cascade-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error{"mkdtemp failed"};
    }
    path_ = pattern;
}

temp_folder::~temp_folder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string read_text(const std::string& file) {
    std::ifstream in{file, std::ios::binary};
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_text(const std::string& file, const std::string& text) {
    std::ofstream out{file, std::ios::binary | std::ios::trunc};
    out << text;
}

}  // namespace test_support
