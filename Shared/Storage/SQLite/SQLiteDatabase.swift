import Foundation
import GRDB
import Logging
import Synchronization

/// A SQLite database in one file, the embedded default.
///
/// The file runs in WAL journal mode with `synchronous = FULL`, so a transaction that has
/// returned from ``transaction(_:)`` is on disk. Exactly one transaction or standalone statement
/// runs at a time: callers queue in FIFO order on an async lock (no thread is blocked while
/// waiting), and the transaction body may suspend freely between its statements.
///
/// The WAL is checkpointed into the database file by a second connection every 100 ms (10 ms
/// while it holds over 1 MiB), beside the writer: a commit never pays for a checkpoint (SQLite's
/// automatic checkpoint would copy pages and fsync the database file inside the commit that
/// crosses 1,000 WAL pages). Those
/// checkpoints never wait for the writer, so under sustained writes they never catch up with it,
/// and SQLite only writes the WAL from its start again once one has. So when the WAL has grown
/// past `walRestartBytes`, the writer itself, right after its next commit, copies what the last
/// passive checkpoint left (`RESTART`), and the commit after that starts the WAL over (its file
/// cut back to `walRestartBytes`): the WAL stays bounded whatever the load, for the price of a
/// short pause once per `walRestartBytes` written.
public final class SQLiteDatabase: SQLDatabase {
  /// The path of the database file.
  public let path: String
  private let queue: DatabaseQueue
  private let checkpoints: Task<Void, Never>
  private let lock = AsyncLock()
  /// Set by the checkpointing connection when the WAL has grown past its limit.
  private let restartDue = RestartFlag()
  private let logger: Logger

  /// Opens (creating if needed) the database file at `path`.
  ///
  /// - Parameters:
  ///   - path: The file path; its directory must exist.
  ///   - busyTimeout: How long a statement waits for another process holding the file's write lock.
  ///   - walRestartBytes: How large the WAL may grow before it is started over.
  ///   - logger: Receives debug messages only.
  public init(
    path: String, busyTimeout: Duration = .seconds(5), walRestartBytes: Int = 64 << 20, logger: Logger
  ) throws {
    var configuration = Configuration()
    // The async lock, not GRDB, keeps transactions from interleaving (see `transaction`).
    configuration.allowsUnsafeTransactions = true
    let components = busyTimeout.components
    configuration.busyMode = .timeout(Double(components.seconds) + Double(components.attoseconds) * 1e-18)
    configuration.label = "PasserelleStorage.SQLite"
    configuration.prepareDatabase { db in
      // Set here rather than with `journalMode = .wal`, which would lower `synchronous` to NORMAL.
      try db.execute(sql: "PRAGMA journal_mode = WAL")
      try db.execute(sql: "PRAGMA synchronous = FULL")
      try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
      try db.execute(sql: "PRAGMA journal_size_limit = \(walRestartBytes)")
    }
    var checkpointing = Configuration()
    checkpointing.busyMode = configuration.busyMode
    checkpointing.label = "PasserelleStorage.SQLite.checkpoint"
    checkpointing.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
    let checkpointer: DatabaseQueue
    // A new database in a new folder (the default `data/`) is the normal first start. Checked
    // here to say why in a line (Foundation's and SQLite's errors say neither the folder nor why).
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
    if !FileManager.default.fileExists(atPath: folder) {
      do {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      } catch {
        let posix = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? any Error).map { $0 as NSError }
        throw StorageError(
          code: .connectionFailed,
          message: "cannot create the folder \(folder): "
            + (posix.map { String(cString: strerror(Int32($0.code))) } ?? "\(error)") + " (uid \(getuid()))",
          url: "sqlite://\(path)")
      }
    }
    if access(folder, W_OK | X_OK) != 0 {
      throw StorageError(
        code: .connectionFailed,
        message:
          "cannot write in the folder \(folder): \(String(cString: strerror(errno))) (uid \(getuid()))",
        url: "sqlite://\(path)")
    }
    do {
      queue = try DatabaseQueue(path: path, configuration: configuration)
      checkpointer = try DatabaseQueue(path: path, configuration: checkpointing)
    } catch {
      throw StorageError(code: .connectionFailed, message: String(describing: error), url: "sqlite://\(path)")
    }
    let restartDue = self.restartDue
    // A WAL frame is a page and its 24-byte header; the page size is fixed once the file exists.
    let frameBytes = ((try? checkpointer.read { try Int.fetchOne($0, sql: "PRAGMA page_size") }) ?? 4096) + 24
    // PASSIVE: copies what it can without waiting for, or blocking, the writer. While the writer
    // is busy, every 10 ms, so that little is left to copy when the WAL is started over. The task
    // holds the second connection only, so the database is released (and the task cancelled) as usual.
    checkpoints = Task.detached { [logger] in
      var busy = false
      while !Task.isCancelled {
        try? await Task.sleep(for: .milliseconds(busy ? 10 : 100))
        do {
          let walBytes = try await checkpointer.writeWithoutTransaction { db in
            try db.checkpoint(.passive).walFrameCount * frameBytes
          }
          busy = walBytes >= 1 << 20
          if walBytes >= walRestartBytes { restartDue.isSet.store(true, ordering: .relaxed) }
        } catch {
          logger.debug("checkpoint failed", metadata: ["error": "\(error)"])
        }
      }
    }
    self.path = path
    self.logger = logger
    logger.debug("opened SQLite database", metadata: ["path": "\(path)"])
  }

  deinit {
    checkpoints.cancel()
  }

  /// Always ``SQLDialect/sqlite``.
  public var dialect: SQLDialect { .sqlite }

  /// Runs `body` inside `BEGIN IMMEDIATE` … `COMMIT`, rolling back if it throws or the task is
  /// cancelled before the commit.
  public func transaction<T: Sendable>(
    _ body: @Sendable (any SQLTransaction) async throws -> T
  ) async throws -> T {
    try await lock.withLock {
      try control("BEGIN IMMEDIATE")
      do {
        let result = try await body(SQLiteTransaction(queue: queue))
        try Task.checkCancellation()
        try await commit()
        return result
      } catch {
        rollback(after: error)
        throw error
      }
    }
  }

  /// Runs `batches` in one transaction in a single hop to the connection, commit included, so a
  /// write costs one thread hand-off and one fsync.
  @discardableResult
  public func write(_ batches: [SQLBatch]) async throws -> [Int] {
    try await lock.withLock {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[Int], any Error>) in
        queue.asyncWriteWithoutTransaction { db in
          continuation.resume(with: Result { try self.run(batches, in: db) })
        }
      }
    }
  }

  /// Runs `batches` in one transaction on the calling thread, commit included: no hand-off at
  /// all (GRDB runs a synchronous write on the caller's thread when the connection is free).
  @discardableResult
  public func writeBlocking(_ batches: [SQLBatch]) throws -> [Int] {
    try lock.withLockBlocking {
      try queue.writeWithoutTransaction { db in try self.run(batches, in: db) }
    }
  }

  /// Runs one query on the calling thread, like ``writeBlocking(_:)`` its batches.
  public func queryBlocking(_ sql: String, _ bindings: [SQLValue]) throws -> [SQLRow] {
    try lock.withLockBlocking {
      do {
        return try queue.writeWithoutTransaction { db in try SQLiteTransaction.rows(sql, bindings, in: db) }
      } catch let error as DatabaseError {
        throw StorageError(sqlite: error, sql: sql)
      }
    }
  }

  /// `BEGIN IMMEDIATE`, every batch, `COMMIT`; rolled back if any of it fails.
  private func run(_ batches: [SQLBatch], in db: GRDB.Database) throws -> [Int] {
    var current = "BEGIN IMMEDIATE"
    do {
      try db.execute(sql: current)
      var changes: [Int] = []
      for batch in batches {
        current = batch.sql
        changes.append(batch.rows.isEmpty ? 0 : try SQLiteTransaction.run(batch.sql, batch.rows, in: db))
      }
      current = "COMMIT"
      try db.execute(sql: current)
      restartWALIfDue(db)
      return changes
    } catch {
      // SQLite may already have rolled back (an interrupted or failed COMMIT).
      if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
      if let error = error as? DatabaseError { throw StorageError(sqlite: error, sql: current) }
      throw error
    }
  }

  /// Holds an exclusive `flock` on `<path>-<name>.lock` while `body` runs (the kernel releases it
  /// if the process dies); see ``SQLDatabase/exclusively(_:waiting:stopWaiting:_:)``.
  public func exclusively<T: Sendable>(
    _ name: String, waiting: @Sendable () -> Void, stopWaiting: @Sendable () -> Bool,
    _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
  ) async throws -> T? {
    let lockPath = "\(path)-\(name).lock"
    let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw StorageError(code: .connectionFailed, message: "cannot open \(lockPath): errno \(errno)")
    }
    defer { close(descriptor) }
    let held = try await ExclusiveLock.acquire(waiting: waiting, stopWaiting: stopWaiting) {
      if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
      guard errno == EWOULDBLOCK else {
        throw StorageError(code: .connectionFailed, message: "cannot lock \(lockPath): errno \(errno)")
      }
      return false
    }
    return held ? try await body(self) : nil
  }

  /// Runs one statement in its own implicit transaction and returns how many rows it changed.
  @discardableResult
  public func execute(_ sql: String, _ bindings: [SQLValue]) async throws -> Int {
    try await lock.withLock { try await SQLiteTransaction(queue: queue).execute(sql, bindings) }
  }

  /// Runs one query in its own implicit transaction.
  public func query(_ sql: String, _ bindings: [SQLValue]) async throws -> [SQLRow] {
    try await lock.withLock { try await SQLiteTransaction(queue: queue).query(sql, bindings) }
  }

  /// Runs a transaction-control statement synchronously, so that task cancellation cannot skip it.
  private func control(_ sql: String) throws {
    do {
      try queue.writeWithoutTransaction { db in try db.execute(sql: sql) }
    } catch let error as DatabaseError {
      throw StorageError(sqlite: error, sql: sql)
    }
  }

  /// Commits on GRDB's queue while the caller is suspended, so that the fsync does not hold a
  /// cooperative thread; like ``control(_:)`` it cannot be skipped by cancellation.
  private func commit() async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
      queue.asyncWriteWithoutTransaction { db in
        do {
          try db.execute(sql: "COMMIT")
          self.restartWALIfDue(db)
          continuation.resume()
        } catch let error as DatabaseError {
          continuation.resume(throwing: StorageError(sqlite: error, sql: "COMMIT"))
        } catch {
          continuation.resume(throwing: error)
        }
      }
    }
  }

  /// After a commit, on the writer's connection: copies the WAL's remaining frames into the
  /// database if it has grown past its limit, so that the next commit starts it over.
  private func restartWALIfDue(_ db: GRDB.Database) {
    guard restartDue.isSet.exchange(false, ordering: .relaxed) else { return }
    do {
      try db.checkpoint(.restart)
    } catch {
      logger.debug("WAL restart checkpoint failed", metadata: ["error": "\(error)"])
    }
  }

  private func rollback(after error: any Error) {
    do {
      try queue.writeWithoutTransaction { db in
        // SQLite may already have rolled back (an interrupted or failed COMMIT).
        if db.isInsideTransaction { try db.execute(sql: "ROLLBACK") }
      }
      logger.debug("rolled back", metadata: ["cause": "\(error)"])
    } catch {
      logger.debug("rollback failed", metadata: ["error": "\(error)"])
    }
  }
}

/// Whether the writer should start the WAL over after its next commit; shared with the
/// checkpointing task.
private final class RestartFlag: Sendable {
  let isSet = Atomic(false)
}
