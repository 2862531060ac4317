// Namespaced content: containerd's metadata content store. Blobs live once, shared, in a backend
// content::Store (the LocalStore under <root>/io.containerd.content.v1.content); the metadata
// database records which namespace holds which blob, with that namespace's labels, and which
// ingests each namespace has open. A blob is visible in a namespace only once committed there.
//
// Sharing policy "shared" (containerd's default): a writer that names an `expected` digest the
// backend already holds does not have to send the bytes again; committing it adds the blob to the
// namespace. Deleting removes only the namespace's reference: garbage collection removes blobs
// no namespace references.
//
// Every write records the request's lease (`containerd-lease`) on what it touches: an open ingest
// on "ingests"/<ref>, a committed or re-used blob on "content"/<digest>.
//
// Writes create backend objects before their rows are committed (a blob is committed to the
// backend, then recorded). They hold gc_guard() shared from the backend change to the commit of
// its row, so that garbage collection, which holds it exclusively while it re-checks and removes
// one unreferenced backend object, never removes one that is about to be recorded.
//
// Thread-safety: a ContentStore and the views it hands out may be used from any thread; a Writer
// by one thread at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "content/store.h"
#include "sqlite/db.h"

namespace berth::metadata {

class ContentStore {
 public:
  // `db` and `backend` must outlive the store and every view.
  ContentStore(sqlite::Database* db, content::Store* backend) : db_(db), backend_(backend) {}

  // The content store as one request sees it. Error messages follow containerd's metadata store:
  // NotFound "content digest <d>: not found", "reference <ref>: not found"; AlreadyExists
  // "content <d>: already exists"; NotFound "lease does not exist" for an unknown lease.
  std::unique_ptr<content::Store> View(std::string ns, std::optional<std::string> lease);

  content::Store& backend() { return *backend_; }
  // See above; for GcBackends::content_guard.
  absl::Mutex& gc_guard() { return gc_guard_; }

 private:
  sqlite::Database* db_;
  content::Store* backend_;
  absl::Mutex gc_guard_;
};

}  // namespace berth::metadata
