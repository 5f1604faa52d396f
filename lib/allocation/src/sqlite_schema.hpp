#pragma once
// The SQLite store's tables, created on first use and upgraded from older files.
// Internal: include only from lib/allocation/src.

#include <SQLiteCpp/Database.h>

namespace allocation::detail {

/// Creates the tables a new file lacks and upgrades an older file, in one IMMEDIATE transaction;
/// std::runtime_error for a file of a newer schema than this build knows.
void create_or_upgrade_schema(SQLite::Database& db);

}  // namespace allocation::detail
