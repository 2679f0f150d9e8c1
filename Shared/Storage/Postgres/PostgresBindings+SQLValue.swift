import NIOCore
import PostgresNIO

extension PostgresBindings {
  /// Binds `values` in order: integers as `bigint`, reals as `double precision`, blobs as
  /// `bytea`, and text untyped so that PostgreSQL reads it like a literal (a timestamp, a uuid…).
  init(_ values: [SQLValue]) {
    self.init(capacity: values.count)
    for value in values {
      switch value {
      case .null: appendNull()
      case .integer(let integer): append(integer)
      case .real(let real): append(real)
      case .text(let text):
        append(PostgresData(type: .null, formatCode: .text, value: ByteBuffer(string: text)))
      case .blob(let bytes): append(ByteBuffer(bytes: bytes))
      }
    }
  }
}
