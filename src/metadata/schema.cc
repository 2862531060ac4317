#include "metadata/schema.h"

namespace berth::metadata {
namespace {

// Times are unix nanoseconds (UTC). Labels are JSON objects of strings. google.protobuf.Any values
// are stored as (type URL, bytes) column pairs.
constexpr const char* kMigrations[] = {
    // 1: namespaces, containers, leases.
    R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE namespaces (
  name       TEXT PRIMARY KEY,
  labels     TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE containers (
  namespace            TEXT NOT NULL REFERENCES namespaces(name),
  id                   TEXT NOT NULL,
  labels               TEXT NOT NULL DEFAULT '{}',
  image                TEXT NOT NULL DEFAULT '',
  runtime_name         TEXT NOT NULL,
  runtime_options_type TEXT,
  runtime_options      BLOB,
  spec_type            TEXT,
  spec                 BLOB,
  snapshotter          TEXT NOT NULL DEFAULT '',
  snapshot_key         TEXT NOT NULL DEFAULT '',
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  PRIMARY KEY (namespace, id)
) WITHOUT ROWID;

CREATE TABLE container_extensions (
  namespace TEXT NOT NULL,
  container TEXT NOT NULL,
  name      TEXT NOT NULL,
  type_url  TEXT NOT NULL,
  value     BLOB NOT NULL,
  PRIMARY KEY (namespace, container, name),
  FOREIGN KEY (namespace, container) REFERENCES containers(namespace, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE leases (
  namespace  TEXT NOT NULL REFERENCES namespaces(name),
  id         TEXT NOT NULL,
  labels     TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  PRIMARY KEY (namespace, id)
) WITHOUT ROWID;
CREATE INDEX leases_by_expiry ON leases(expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE lease_resources (
  namespace TEXT NOT NULL,
  lease     TEXT NOT NULL,
  type      TEXT NOT NULL,
  id        TEXT NOT NULL,
  PRIMARY KEY (namespace, lease, type, id),
  FOREIGN KEY (namespace, lease) REFERENCES leases(namespace, id) ON DELETE CASCADE
) WITHOUT ROWID;
)sql",

    // 2: content (namespaced references to the shared blob store, and ingests) and images.
    R"sql(
CREATE TABLE content_blobs (
  namespace  TEXT NOT NULL REFERENCES namespaces(name),
  digest     TEXT NOT NULL,
  size       INTEGER NOT NULL,
  labels     TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, digest)
) WITHOUT ROWID;
CREATE INDEX content_blobs_by_digest ON content_blobs(digest);

CREATE TABLE content_ingests (
  namespace  TEXT NOT NULL REFERENCES namespaces(name),
  ref        TEXT NOT NULL,
  backend    TEXT NOT NULL,
  expected   TEXT,
  expires_at INTEGER,
  PRIMARY KEY (namespace, ref)
) WITHOUT ROWID;

CREATE TABLE images (
  namespace          TEXT NOT NULL REFERENCES namespaces(name),
  name               TEXT NOT NULL,
  labels             TEXT NOT NULL DEFAULT '{}',
  target_media_type  TEXT NOT NULL,
  target_digest      TEXT NOT NULL,
  target_size        INTEGER NOT NULL,
  target_annotations TEXT NOT NULL DEFAULT '{}',
  target_urls        TEXT NOT NULL DEFAULT '[]',  -- unused: containerd 1.6's API has no urls
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  PRIMARY KEY (namespace, name)
) WITHOUT ROWID;
)sql",

    // 3: snapshots, per namespace and snapshotter. Each maps the client's key to the name the
    // snapshotter knows it by ("<namespace>/<sequence>/<key>"), so namespaces never collide.
    R"sql(
CREATE TABLE snapshots (
  namespace   TEXT NOT NULL REFERENCES namespaces(name),
  snapshotter TEXT NOT NULL,
  key         TEXT NOT NULL,
  backend_key TEXT NOT NULL,
  parent      TEXT NOT NULL DEFAULT '',
  kind        INTEGER NOT NULL,
  labels      TEXT NOT NULL DEFAULT '{}',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (namespace, snapshotter, key)
) WITHOUT ROWID;
CREATE INDEX snapshots_by_parent ON snapshots(namespace, snapshotter, parent);
CREATE UNIQUE INDEX snapshots_by_backend_key ON snapshots(snapshotter, backend_key);
)sql",
};

}  // namespace

std::span<const char* const> Migrations() { return kMigrations; }

}  // namespace berth::metadata
