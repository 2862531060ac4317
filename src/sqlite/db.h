// One SQLite database file in WAL mode, used by the metadata store (`<root>/metadata.db`) and by
// the snapshotters for their own bookkeeping.
//
// Every read and write runs inside a transaction (Read / Write below); a Write commits or rolls
// back as a whole, so a daemon killed at any point leaves either the old or the new state.
// The schema is versioned with `PRAGMA user_version` and migrated forward on open with the
// caller's list of migrations (metadata's is drawn in docs/metadata.md).
//
// Thread-safety: a Database is shared by all gRPC handlers. It holds one connection guarded by one
// mutex (mu_): transactions are serialized. Writes are short (microseconds) and SQLite in WAL mode
// with synchronous=NORMAL does not fsync on commit, so one connection is not the bottleneck.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include "absl/strings/string_view.h"
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace berth::sqlite {

// A prepared statement borrowed from the connection's cache for one use. Binding indexes are
// 1-based like SQLite's; column indexes 0-based. Resets (and clears bindings) on destruction.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Stmt(Stmt&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  Stmt& Bind(int index, absl::string_view text);
  Stmt& Bind(int index, const char* text) { return Bind(index, absl::string_view(text)); }
  Stmt& Bind(int index, int64_t value);
  Stmt& BindBlob(int index, absl::string_view blob);
  Stmt& BindNull(int index);

  // Advances to the next row: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Runs a statement that returns no rows.
  absl::Status Exec();

  std::string Text(int column) const;
  std::string Blob(int column) const;
  int64_t Int(int column) const;
  bool IsNull(int column) const;

 private:
  sqlite3_stmt* stmt_;
};

// The view of the database inside one transaction.
class Tx {
 public:
  // A prepared statement for `sql`, compiled once per connection and cached by its text.
  absl::StatusOr<Stmt> Prepare(absl::string_view sql);
  // Number of rows changed by the last INSERT/UPDATE/DELETE.
  int Changes() const;

 private:
  friend class Database;
  explicit Tx(class Database* db) : db_(db) {}
  class Database* db_;
};

enum class Sync { kNormal, kFull };

// What a database holds, for its messages ("metadata database /x: ...") and its migrations:
// migration i (0-based) takes the schema from user_version i to i+1.
struct Schema {
  const char* name;
  std::span<const char* const> migrations;
};

class Database {
 public:
  // Opens (creating if needed) the database at `path`, checks its integrity, and migrates it to
  // the latest version of `schema`. FailedPrecondition if the file was written by a newer berth;
  // DataLoss if corrupt.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path, Schema schema,
                                                        Sync sync = Sync::kNormal);
  ~Database();

  // Runs `fn` in a read transaction.
  absl::Status Read(const std::function<absl::Status(Tx&)>& fn);
  // Runs `fn` in a write transaction; commits if it returns OK, rolls back otherwise.
  absl::Status Write(const std::function<absl::Status(Tx&)>& fn);

  int schema_version() const { return schema_version_; }

 private:
  friend class Tx;
  explicit Database(Schema schema) : schema_(schema) {}
  absl::Status OpenConnection(const std::string& path, Sync sync);
  absl::Status Migrate();
  absl::Status ExecLocked(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RollbackLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<sqlite3_stmt*> PrepareLocked(absl::string_view sql)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite3* conn_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_ ABSL_GUARDED_BY(mu_);
  const Schema schema_;
  int schema_version_ = 0;
};

// An error from SQLite, with its message, mapped to a status code (BUSY -> Unavailable,
// CORRUPT/NOTADB -> DataLoss, CONSTRAINT -> FailedPrecondition, else Internal).
absl::Status SqliteError(sqlite3* conn, int rc, absl::string_view context);

}  // namespace berth::sqlite
