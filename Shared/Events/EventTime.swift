import Foundation

/// RFC 3339 timestamps as events carry them: parsed with any offset and fractional digits,
/// written in UTC with exactly three fractional digits (`2026-11-24T10:00:00.123Z`).
///
/// Hand-written rather than `ISO8601DateFormatter` because it runs for every event on the bus.
public enum EventTime {
  /// Parses an RFC 3339 date-time (`T` or `t` or space separator, `Z`/`z` or `±hh:mm` offset).
  ///
  /// Returns `nil` for anything else, including impossible dates like February 30.
  public static func parse(_ text: String) -> Date? {
    var text = text
    return text.withUTF8 { parse(utf8: $0) }
  }

  /// Writes `date` in UTC with millisecond precision, truncated (never rounded up: rounding would
  /// write `9999-12-31T23:59:59.9999Z` as year 10000, which cannot be read back).
  public static func format(_ date: Date) -> String {
    let (seconds, milliseconds) = millisecondParts(date)
    let (days, secondOfDay) = floorDivide(seconds, 86_400)
    let (year, month, day) = civil(fromDays: days)
    return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T"
      + pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay % 3600 / 60, 2) + ":" + pad(secondOfDay % 60, 2)
      + "." + pad(milliseconds, 3) + "Z"
  }

  /// `date` cut down to the millisecond, the precision `format` keeps, so it survives a round trip.
  ///
  /// Built the same way `parse` builds dates (whole seconds plus fraction), so equal instants compare equal.
  public static func truncatedToMilliseconds(_ date: Date) -> Date {
    let (seconds, milliseconds) = millisecondParts(date)
    return Date(timeIntervalSince1970: Double(seconds) + Double(milliseconds) / 1000)
  }

  /// `date` as whole seconds since 1970 and the milliseconds into that second, truncated.
  ///
  /// A `Date` is a `Double`, so `.123` may be held as `.12299999…`: a millisecond boundary less
  /// than the `Double`'s error away (a few units in the last place, at least a microsecond) counts
  /// as reached. Milliseconds never carry into the next second, which only `parse` could write.
  private static func millisecondParts(_ date: Date) -> (seconds: Int64, milliseconds: Int64) {
    let interval = date.timeIntervalSince1970
    let seconds = interval.rounded(.down)
    let slack = max(interval.ulp * 4, 0.000_001)
    let milliseconds = min(((interval - seconds + slack) * 1000).rounded(.down), 999)
    return (Int64(seconds), Int64(milliseconds))
  }

  private static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Date? {
    guard bytes.count >= 20 else { return nil }
    func number(_ start: Int, _ length: Int) -> Int64? {
      var value: Int64 = 0
      for index in start..<start + length {
        let byte = bytes[index]
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        value = value * 10 + Int64(byte - UInt8(ascii: "0"))
      }
      return value
    }
    guard let year = number(0, 4), bytes[4] == UInt8(ascii: "-"), let month = number(5, 2),
      bytes[7] == UInt8(ascii: "-"), let day = number(8, 2),
      [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(bytes[10]),
      let hour = number(11, 2), bytes[13] == UInt8(ascii: ":"), let minute = number(14, 2),
      bytes[16] == UInt8(ascii: ":"), let second = number(17, 2)
    else { return nil }
    guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour < 24,
      minute < 60, second <= 60
    else { return nil }
    var index = 19
    var fraction = 0.0
    if bytes[index] == UInt8(ascii: ".") {
      index += 1
      let start = index
      var digits: Int64 = 0
      var scale = 1.0
      while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
        if index - start < 9 {
          digits = digits * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
          scale *= 10
        }
        index += 1
      }
      guard index > start else { return nil }
      fraction = Double(digits) / scale
    }
    guard index < bytes.count else { return nil }
    var offsetSeconds: Int64 = 0
    switch bytes[index] {
    case UInt8(ascii: "Z"), UInt8(ascii: "z"):
      guard index + 1 == bytes.count else { return nil }
    case UInt8(ascii: "+"), UInt8(ascii: "-"):
      guard index + 6 == bytes.count, let offsetHour = number(index + 1, 2),
        bytes[index + 3] == UInt8(ascii: ":"), let offsetMinute = number(index + 4, 2),
        offsetHour < 24, offsetMinute < 60
      else { return nil }
      offsetSeconds = (offsetHour * 3600 + offsetMinute * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
    default: return nil
    }
    let days = self.days(fromYear: year, month: month, day: day)
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
    // In UTC the instant must still have a four-digit year, or it could not be written back.
    guard (Self.earliestSeconds...Self.latestSeconds).contains(seconds) else { return nil }
    // Nor may rounding to a `Double` carry a fraction such as .999999999 into the next second.
    return Date(timeIntervalSince1970: min(Double(seconds) + fraction, Double(seconds + 1).nextDown))
  }

  /// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z, in seconds since 1970.
  private static let earliestSeconds = days(fromYear: 0, month: 1, day: 1) * 86_400
  private static let latestSeconds = days(fromYear: 9999, month: 12, day: 31) * 86_400 + 86_399

  private static func daysIn(month: Int64, year: Int64) -> Int64 {
    switch month {
    case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
  }

  /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
  private static func days(fromYear year: Int64, month: Int64, day: Int64) -> Int64 {
    let shiftedYear = month <= 2 ? year - 1 : year
    let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
    let yearOfEra = shiftedYear - era * 400
    let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
  }

  /// The proleptic Gregorian date of a day count since 1970-01-01 (inverse of `days(fromYear:)`).
  private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
    let shifted = days + 719_468
    let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
    let dayOfEra = shifted - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
  }

  private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
    let remainder = value % divisor
    return remainder < 0 ? (value / divisor - 1, remainder + divisor) : (value / divisor, remainder)
  }

  private static func pad(_ value: Int64, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
  }
}
