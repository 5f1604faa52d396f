#pragma once
// Files for tests: temporary folders that clean up after themselves, whole-file reads and writes.

#include <string>

namespace test_support {

/// The whole text of a file (empty when it cannot be read).
[[nodiscard]] std::string read_text(const std::string& file);

/// Writes `text` to `file`, replacing it.
void write_text(const std::string& file, const std::string& text);

/// A fresh temporary folder, removed with everything in it at the end.
class temp_folder {
public:
    temp_folder();
    ~temp_folder();
    temp_folder(const temp_folder&) = delete;
    temp_folder& operator=(const temp_folder&) = delete;
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

}  // namespace test_support
