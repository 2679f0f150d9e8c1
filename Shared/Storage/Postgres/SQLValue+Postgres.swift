import Foundation
import NIOCore
import PostgresNIO

extension SQLValue {
  /// Decodes a result cell by its PostgreSQL type.
  ///
  /// Integers and `bool` (as 0 or 1) become ``SQLValue/integer(_:)``; `real`, `double precision`
  /// and `numeric` become ``SQLValue/real(_:)``; `bytea` becomes ``SQLValue/blob(_:)``;
  /// `timestamp(tz)` becomes ISO 8601 text in UTC; anything else is read as text.
  init(_ cell: PostgresCell) throws {
    guard var bytes = cell.bytes else {
      self = .null
      return
    }
    do {
      switch cell.dataType {
      case .int2, .int4, .int8:
        self = .integer(try cell.decode(Int64.self))
      case .float4, .float8:
        self = .real(try cell.decode(Double.self))
      case .numeric:
        self = .real(Double("\(try cell.decode(Decimal.self))") ?? .nan)
      case .bool:
        self = .integer(try cell.decode(Bool.self) ? 1 : 0)
      case .bytea:
        self = .blob(bytes.readBytes(length: bytes.readableBytes) ?? [])
      case .timestamp, .timestamptz:
        let date = try cell.decode(Date.self)
        self = .text(Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date))
      default:
        self = .text(try cell.decode(String.self))
      }
    } catch {
      throw StorageError(
        code: .statementFailed, statement: nil,
        message: "cannot read column \(cell.columnName) of type \(cell.dataType): \(error)")
    }
  }
}
