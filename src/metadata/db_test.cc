#include "sqlite/db.h"

#include <gtest/gtest.h>

#include <fstream>

#include "base/status.h"
#include "metadata/schema.h"
#include "metadata/test_util.h"

namespace berth::metadata {
namespace {

TEST(DatabaseTest, MigratesToLatestSchemaAndReopens) {
  TempStore store;
  EXPECT_EQ(store->db().schema_version(), LatestSchemaVersion());
  std::string uuid = store->uuid();
  EXPECT_EQ(uuid.size(), 36u);
  store.Open();
  EXPECT_EQ(store->uuid(), uuid) << "the server UUID must survive a restart";
}

TEST(DatabaseTest, FailedWriteRollsBackEverything) {
  TempStore store;
  absl::Status s = store->db().Write([](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Stmt ins, tx.Prepare("INSERT INTO meta(key, value) VALUES('a', 'b')"));
    RETURN_IF_ERROR(ins.Exec());
    return absl::InternalError("injected");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  bool found = true;
  ASSERT_TRUE(store->db()
                  .Read([&](sqlite::Tx& tx) -> absl::Status {
                    ASSIGN_OR_RETURN(sqlite::Stmt sel, tx.Prepare("SELECT 1 FROM meta WHERE key = 'a'"));
                    ASSIGN_OR_RETURN(found, sel.Step());
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_FALSE(found);
}

TEST(DatabaseTest, RefusesANewerSchema) {
  TempStore store;
  ASSERT_TRUE(store->db()
                  .Write([](sqlite::Tx& tx) -> absl::Status {
                    ASSIGN_OR_RETURN(sqlite::Stmt s, tx.Prepare("PRAGMA user_version=999"));
                    return s.Exec();
                  })
                  .ok());
  auto reopened = sqlite::Database::Open(store.dir() + "/metadata.db", MetadataSchema());
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(reopened.status().message().find("newer"), absl::string_view::npos);
}

TEST(DatabaseTest, RefusesAFileThatIsNotADatabase) {
  char tmpl[] = "/tmp/berth-db-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  {
    std::ofstream f(dir + "/metadata.db");
    f << std::string(8192, 'x');
  }
  auto db = sqlite::Database::Open(dir + "/metadata.db", MetadataSchema());
  EXPECT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kDataLoss) << db.status();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace berth::metadata
