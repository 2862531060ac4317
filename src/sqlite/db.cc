#include "sqlite/db.h"

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status.h"

namespace berth::sqlite {

absl::Status SqliteError(sqlite3* conn, int rc, absl::string_view context) {
  std::string msg = absl::StrCat(context, ": ", conn ? sqlite3_errmsg(conn) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(msg);
    case SQLITE_CONSTRAINT:
      return absl::FailedPreconditionError(msg);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return absl::PermissionDeniedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// --- Stmt ---

Stmt::~Stmt() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Stmt& Stmt::Bind(int index, absl::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Stmt& Stmt::BindBlob(int index, absl::string_view blob) {
  sqlite3_bind_blob(stmt_, index, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

absl::StatusOr<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(sqlite3_db_handle(stmt_), rc, "sqlite query");
}

absl::Status Stmt::Exec() {
  for (;;) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return absl::OkStatus();
  }
}

std::string Stmt::Text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, column));
}

std::string Stmt::Blob(int column) const {
  const void* p = sqlite3_column_blob(stmt_, column);
  if (p == nullptr) return {};
  return std::string(static_cast<const char*>(p), sqlite3_column_bytes(stmt_, column));
}

int64_t Stmt::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Stmt::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// --- Tx ---

absl::StatusOr<Stmt> Tx::Prepare(absl::string_view sql) {
  db_->mu_.AssertHeld();
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt, db_->PrepareLocked(sql));
  return Stmt(stmt);
}

int Tx::Changes() const {
  db_->mu_.AssertHeld();
  return sqlite3_changes(db_->conn_);
}

// --- Database ---

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path, Schema schema,
                                                        Sync sync) {
  std::unique_ptr<Database> db(new Database(schema));
  RETURN_IF_ERROR(db->OpenConnection(path, sync));
  RETURN_IF_ERROR(
      Annotate(db->Migrate(), absl::StrCat("migrate ", schema.name, " database ", path)));
  return db;
}

absl::Status Database::OpenConnection(const std::string& path, Sync sync) {
  absl::MutexLock lock(&mu_);
  Database* db = this;
  int rc = sqlite3_open_v2(path.c_str(), &db->conn_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    return SqliteError(db->conn_, rc, absl::StrCat("open ", schema_.name, " database ", path));
  }
  sqlite3_extended_result_codes(db->conn_, 1);
  // Another process (an operator's sqlite3 shell) may briefly hold the lock.
  sqlite3_busy_timeout(db->conn_, 5000);
  // WAL: readers never block the writer, and a crash mid-commit leaves the last committed state.
  // synchronous=NORMAL survives a killed daemon (the WAL is in the page cache); FULL also survives
  // power loss at the price of an fsync per commit.
  RETURN_IF_ERROR(Annotate(db->ExecLocked("PRAGMA journal_mode=WAL"), path));
  RETURN_IF_ERROR(db->ExecLocked(sync == Sync::kFull ? "PRAGMA synchronous=FULL"
                                                      : "PRAGMA synchronous=NORMAL"));
  RETURN_IF_ERROR(db->ExecLocked("PRAGMA foreign_keys=ON"));

  {
    ASSIGN_OR_RETURN(sqlite3_stmt * check, db->PrepareLocked("PRAGMA quick_check"));
    Stmt stmt(check);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    std::string result = row ? stmt.Text(0) : "no result";
    if (result != "ok") {
      return absl::DataLossError(
          absl::StrCat(schema_.name, " database ", path, " failed its integrity check: ", result));
    }
  }
  return absl::OkStatus();
}

Database::~Database() {
  absl::MutexLock lock(&mu_);
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  cache_.clear();
  if (conn_ != nullptr) sqlite3_close(conn_);
  conn_ = nullptr;
}

absl::Status Database::ExecLocked(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(conn_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    absl::Status status = SqliteError(nullptr, rc, msg);
    return status;
  }
  return absl::OkStatus();
}

void Database::RollbackLocked() {
  // Nothing more can be done about a failed rollback than to say so: the error that caused it
  // is what the caller reports, and SQLite rolls back by itself when the connection closes.
  absl::Status status = ExecLocked("ROLLBACK");
  if (!status.ok()) log::Error("sqlite rollback failed", {{"error", status.ToString()}});
}

absl::StatusOr<sqlite3_stmt*> Database::PrepareLocked(absl::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it != cache_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(conn_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(conn_, rc, "prepare sqlite query");
  cache_.emplace(std::string(sql), stmt);
  return stmt;
}

absl::Status Database::Read(const std::function<absl::Status(Tx&)>& fn) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(ExecLocked("BEGIN"));
  Tx tx(this);
  absl::Status status = fn(tx);
  absl::Status end = ExecLocked(status.ok() ? "COMMIT" : "ROLLBACK");
  return status.ok() ? end : status;
}

absl::Status Database::Write(const std::function<absl::Status(Tx&)>& fn) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(ExecLocked("BEGIN IMMEDIATE"));
  Tx tx(this);
  absl::Status status = fn(tx);
  if (!status.ok()) {
    RollbackLocked();
    return status;
  }
  absl::Status commit = ExecLocked("COMMIT");
  if (!commit.ok()) {
    // A failed COMMIT may leave the transaction open; close it so the next one can begin.
    if (!sqlite3_get_autocommit(conn_)) RollbackLocked();
    return Annotate(commit, absl::StrCat("commit ", schema_.name));
  }
  return absl::OkStatus();
}

absl::Status Database::Migrate() {
  absl::MutexLock lock(&mu_);
  int version = 0;
  {
    ASSIGN_OR_RETURN(sqlite3_stmt * s, PrepareLocked("PRAGMA user_version"));
    Stmt stmt(s);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) version = static_cast<int>(stmt.Int(0));
  }
  std::span<const char* const> migrations = schema_.migrations;
  const int latest = static_cast<int>(migrations.size());
  if (version > latest) {
    return absl::FailedPreconditionError(
        absl::StrCat(schema_.name, " schema version ", version,
                     " is newer than this berthd supports (", latest, ")"));
  }
  for (int v = version; v < latest; ++v) {
    RETURN_IF_ERROR(ExecLocked("BEGIN IMMEDIATE"));
    absl::Status status = ExecLocked(migrations[v]);
    if (status.ok()) {
      status = ExecLocked(absl::StrCat("PRAGMA user_version=", v + 1).c_str());
    }
    if (status.ok()) status = ExecLocked("COMMIT");
    if (!status.ok()) {
      RollbackLocked();
      return Annotate(status, absl::StrCat("schema migration ", v + 1));
    }
    log::Info("migrated schema", {{"database", schema_.name}, {"version", v + 1}});
  }
  schema_version_ = latest;
  return absl::OkStatus();
}

}  // namespace berth::sqlite
