#pragma once
// A product as one JSON document, for stores that keep each aggregate whole under its key (the
// cluster's key-value bucket): its SKU, version number and batches with their lines.

#include "allocation/model.hpp"

#include <string>
#include <string_view>

namespace allocation {

[[nodiscard]] std::string encode_product(const product& p);

/// Throws std::invalid_argument for a document that is not a product.
[[nodiscard]] product decode_product(std::string_view document);

}  // namespace allocation
