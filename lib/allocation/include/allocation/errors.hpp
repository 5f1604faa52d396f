#pragma once
// Why an allocation command fails; the message is what the caller of the bus reads.

#include <stdexcept>
#include <string>
#include <string_view>

namespace allocation {

/// A command names a SKU that has no product ("Invalid sku X", the book's InvalidSku).
class invalid_sku : public std::invalid_argument {
public:
    explicit invalid_sku(std::string_view sku) : std::invalid_argument{"Invalid sku " + std::string{sku}} {}
};

/// A command names a batch the product does not have.
class invalid_batch_reference : public std::invalid_argument {
public:
    explicit invalid_batch_reference(std::string_view ref)
        : std::invalid_argument{"Invalid batch reference " + std::string{ref}} {}
};

/// A batch reference is already used by the product.
class duplicate_batch : public std::invalid_argument {
public:
    explicit duplicate_batch(std::string_view ref)
        : std::invalid_argument{"Duplicate batch reference " + std::string{ref}} {}
};

/// An order's line for a SKU is already allocated with another quantity.
class conflicting_line : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// A product changed in the store since this unit of work loaded it (optimistic concurrency).
class concurrency_error : public std::runtime_error {
public:
    explicit concurrency_error(std::string_view sku)
        : std::runtime_error{"Concurrent update of product " + std::string{sku}} {}
};

}  // namespace allocation
