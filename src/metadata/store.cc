#include "metadata/store.h"

#include <sys/random.h>

#include <cstdint>
#include <cstdio>

#include "base/status.h"
#include "metadata/schema.h"

namespace berth::metadata {

std::string NewUuid() {
  uint8_t b[16];
  size_t got = 0;
  while (got < sizeof(b)) {
    ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof(out),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

Store::Store(std::unique_ptr<sqlite::Database> db)
    : db_(std::move(db)), namespaces_(db_.get()), containers_(db_.get()), images_(db_.get()), leases_(db_.get()) {}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir, sqlite::Sync sync) {
  ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Database> db,
                   sqlite::Database::Open(dir + "/metadata.db", MetadataSchema(), sync));
  std::unique_ptr<Store> store(new Store(std::move(db)));
  RETURN_IF_ERROR(store->LoadUuid());
  return store;
}

absl::Status Store::LoadUuid() {
  std::string candidate = NewUuid();
  return db_->Write([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Stmt ins,
                     tx.Prepare("INSERT OR IGNORE INTO meta(key, value) VALUES('uuid', ?1)"));
    RETURN_IF_ERROR(ins.Bind(1, candidate).Exec());
    ASSIGN_OR_RETURN(sqlite::Stmt sel, tx.Prepare("SELECT value FROM meta WHERE key = 'uuid'"));
    ASSIGN_OR_RETURN(bool row, sel.Step());
    if (!row) return absl::InternalError("server uuid missing after insert");
    uuid_ = sel.Text(0);
    return absl::OkStatus();
  });
}

}  // namespace berth::metadata
