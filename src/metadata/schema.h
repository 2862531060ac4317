// The metadata schema, as an ordered list of migrations. Migration i (0-based) takes the database
// from user_version i to i+1. Never edit a shipped migration: append a new one. docs/metadata.md
// draws the resulting tables.
#pragma once

#include <span>

#include "sqlite/db.h"

namespace berth::metadata {

std::span<const char* const> Migrations();

// The metadata database's schema, for sqlite::Database::Open.
inline sqlite::Schema MetadataSchema() { return {"metadata", Migrations()}; }
inline int LatestSchemaVersion() { return static_cast<int>(Migrations().size()); }

}  // namespace berth::metadata
